"""Known-answer tests with the vectors of Tencent's public sample code (weworkapi samples,
XML ``callback`` and JSON ``callback_json``), plus tampering cases."""

from __future__ import annotations

import base64
import json

import pytest

from modules.wecom.crypto import CryptoError
from modules.wecom.crypto import WeComCrypto
from modules.wecom.crypto import parse_xml
from modules.wecom.crypto import signature

XML = WeComCrypto("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
XML_VERIFY = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
}
XML_MSG_SIG = "477715d11cdb4164915debcba66cb864d751f3e6"
XML_BODY = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA["
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj"
    "911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06"
    "DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQ"
    "H03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo"
    "6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+q"
    "N+E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
)
XML_TS, XML_NONCE = "1409659813", "1372623149"

JSON = WeComCrypto(
    "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
    "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
    "ww1436e0e65a779aee",
)
JSON_VERIFY = {
    "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "timestamp": "1476416373",
    "nonce": "47744683",
    "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
}
JSON_MSG_SIG = "e3647471e395139e2308c1fa963f2d648a00b90e"
JSON_BODY = json.dumps(
    {
        "tousername": "wx5823bf96d3bd56c7",
        "encrypt": "cjhLUX7UU4yCSelv1vz7T0zT8huF51bAMVWriNvO1FMegHrQZNrtvRxbwf0fUPsFvwqR0U0fgiJNEA5Y30F2M"
        "oI2S7vv3EjVQ68C0cjw9frBoUE2Hj0BvFp9h3u6Vbsg4lc1C8AtHdaN8orKuNKkLRLuYEL52R1J3v8olJGZRLnRdVKIivix"
        "mX/eQpzgeExtp20jI1HxRP1AAZ6xZoILdqDPO549LO4WeG+685JRUTdiwcY5fjZlqeMxuT4PpMn1X9OWsS7NRj06Wa5E3Tv"
        "g4twjWp39KPfOdRte6P1T4JU=",
        "agentid": 218,
    }
)


def test_xml_url_verification_vector():
    assert XML.verify_url(**XML_VERIFY) == "1616140317555161061"


def test_xml_message_vector():
    message = parse_xml(XML.decrypt_xml(XML_BODY, XML_MSG_SIG, XML_TS, XML_NONCE))
    assert message["ToUserName"] == "wx5823bf96d3bd56c7"
    assert message["MsgType"] == "text"
    assert message["Content"] == "hello"
    assert message["AgentID"] == "218"


def test_json_url_verification_vector():
    assert JSON.verify_url(**JSON_VERIFY) == "1288432023552776189"


def test_json_message_vector():
    # Tencent's sample plaintext, typo included (``"FromUserName": :mycreate"``).
    assert JSON.decrypt_json(JSON_BODY, JSON_MSG_SIG, XML_TS, XML_NONCE) == (
        '{ "ToUserName": "wx5823bf96d3bd56c7", "FromUserName": :mycreate", '
        '"CreateTime": 1409659813, "MsgType": "text", "Content": "hello", '
        '"MsgId": 4561255354251345929, "AgentID": 218}'
    )


def test_json_reply_round_trip_with_empty_receive_id():
    bot = WeComCrypto("tok", JSON.encoding_aes_key, "")
    reply = json.loads(bot.encrypt_json('{"msgtype":"stream"}', nonce="n1", timestamp="1700000000"))
    assert reply["msgsignature"] == signature("tok", "1700000000", "n1", reply["encrypt"])
    assert bot.decrypt(reply["encrypt"]) == '{"msgtype":"stream"}'


def test_interoperates_with_wechatpy_for_xml():
    from wechatpy.enterprise.crypto import WeChatCrypto

    theirs = WeChatCrypto(XML.token, XML.encoding_aes_key, XML.receive_id)
    ours_reply = XML.encrypt_xml("<xml><Content>你好</Content></xml>", nonce="42", timestamp="1")
    assert "你好" in theirs.decrypt_message(ours_reply, _sig_of(ours_reply), "1", "42")
    their_reply = theirs.encrypt_message("<xml><Content>世界</Content></xml>", "7", "2")
    assert "世界" in XML.decrypt_xml(their_reply, _sig_of(their_reply), "2", "7")


def _sig_of(xml: str) -> str:
    return xml.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]


def test_tampered_signature_is_refused():
    bad = dict(XML_VERIFY, msg_signature="0" * 40)
    with pytest.raises(CryptoError) as err:
        XML.verify_url(**bad)
    assert err.value.code == -40001


def test_tampered_ciphertext_is_refused_even_with_a_matching_signature():
    raw = bytearray(base64.b64decode(XML_VERIFY["echostr"]))
    raw[20] ^= 0x01
    forged = base64.b64encode(bytes(raw)).decode()
    sig = signature(XML.token, "1", "2", forged)
    with pytest.raises(CryptoError):
        XML.verify_url(sig, "1", "2", forged)


def test_bad_padding_is_refused():
    # A valid-looking block whose last byte claims 33 bytes of padding.
    from cryptography.hazmat.primitives.ciphers import Cipher
    from cryptography.hazmat.primitives.ciphers import algorithms
    from cryptography.hazmat.primitives.ciphers import modes

    key = XML.key
    plain = b"x" * 31 + bytes([33])
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    forged = base64.b64encode(enc.update(plain) + enc.finalize()).decode()
    with pytest.raises(CryptoError) as err:
        XML.decrypt(forged)
    assert err.value.code == -40007


def test_wrong_receive_id_is_refused():
    other = WeComCrypto(XML.token, XML.encoding_aes_key, "ww_other_corp")
    with pytest.raises(CryptoError) as err:
        other.verify_url(**XML_VERIFY)
    assert err.value.code == -40005


def test_robot_refuses_an_app_message():
    robot = WeComCrypto(XML.token, XML.encoding_aes_key, "")
    with pytest.raises(CryptoError) as err:
        robot.decrypt_xml(XML_BODY, XML_MSG_SIG, XML_TS, XML_NONCE)
    assert err.value.code == -40005


@pytest.mark.parametrize(
    "body", ["", "not xml", "<xml></xml>", "<!DOCTYPE x [<!ENTITY a 'b'>]><xml/>"]
)
def test_malformed_xml_bodies(body):
    with pytest.raises(CryptoError):
        XML.decrypt_xml(body, XML_MSG_SIG, XML_TS, XML_NONCE)
