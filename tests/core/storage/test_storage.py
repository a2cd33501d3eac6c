"""core.storage: the local folder and the S3 backend (against moto's S3 server on loopback,
real HTTP and SigV4), key checks, signed URLs; image checks by content with EXIF removed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import requests

from core.storage import BadImage
from core.storage import LocalStorage
from core.storage import S3Storage
from core.storage import StorageError
from core.storage import build_storage
from core.storage import check_image
from core.storage import image_origin
from core.storage import new_key
from tests.fake_s3 import fake_s3


def jpeg_with_gps(size: tuple[int, int] = (640, 480)) -> bytes:
    from PIL import Image

    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = {1: "N", 2: (31.0, 12.0, 0.0), 3: "E", 4: (121.0, 33.0, 0.0)}
    exif[0x8825] = gps  # GPSInfo
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_image_checked_by_content_and_exif_removed():
    from PIL import Image

    raw = jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the GPS is there
    clean = check_image(raw)
    assert clean.content_type == "image/jpeg" and clean.extension == "jpg"
    assert (clean.width, clean.height) == (640, 480)
    again = Image.open(io.BytesIO(clean.data))
    assert not again.getexif().get_ifd(0x8825) and 0x010F not in again.getexif()
    with pytest.raises(BadImage, match="type"):
        check_image(b"GIF89a not really" + b"\0" * 100)
    with pytest.raises(BadImage, match="type"):
        check_image(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>")
    with pytest.raises(BadImage, match="type"):
        check_image(raw[: len(raw) // 2])  # truncated
    with pytest.raises(BadImage, match="too_large"):
        check_image(raw, max_bytes=1000)
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    with pytest.raises(BadImage, match="type"):
        check_image(gif.getvalue())  # a real image of a type not accepted


def test_big_images_are_shrunk():
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4000, 1000), "white").save(buf, "PNG")
    clean = check_image(buf.getvalue())
    assert (clean.width, clean.height) == (2560, 640)


def test_local_storage(tmp_path: Path):
    store = LocalStorage(tmp_path)
    key = new_key("service/tickets/1", "jpg")
    store.put(key, b"abc", "image/jpeg")
    assert store.get(key) == b"abc" and store.url(key) is None
    store.delete(key)
    with pytest.raises(StorageError):
        store.get(key)
    store.delete(key)  # deleting twice is fine
    for bad in ("../etc/passwd", "/abs", "a/../../b", "a b"):
        with pytest.raises(StorageError):
            store.put(bad, b"x", "text/plain")
    assert not list(tmp_path.rglob("*.part"))


def test_build_storage_from_configuration(tmp_path: Path):
    assert isinstance(build_storage({}, tmp_path), LocalStorage)
    assert build_storage({}, tmp_path).root == tmp_path / "storage"
    with pytest.raises(StorageError):
        build_storage({"TANDEM_STORAGE": "s3"}, tmp_path)
    with pytest.raises(StorageError):
        build_storage({"TANDEM_STORAGE": "ftp"}, tmp_path)
    assert image_origin({}) is None
    assert image_origin({"TANDEM_STORAGE": "s3",
                         "TANDEM_S3_ENDPOINT_URL": "https://oss.example.com:9000/x"}) == \
        "https://oss.example.com:9000"


def test_s3_storage_against_a_real_s3_protocol_server(tmp_path: Path):
    with fake_s3() as config:
        store = build_storage(config, tmp_path)
        assert isinstance(store, S3Storage)
        key = new_key("service/tickets/7", "png")
        store.put(key, b"\x89PNG fake bytes", "image/png")
        assert store.get(key) == b"\x89PNG fake bytes"
        url = store.url(key, seconds=60, filename="a.png")
        assert url.startswith(config["TANDEM_S3_ENDPOINT_URL"]) and "X-Amz-Signature" in url
        signed = requests.get(url, timeout=5)
        assert signed.status_code == 200 and signed.content == b"\x89PNG fake bytes"
        assert signed.headers["Content-Type"] == "image/png"
        # The bucket is private: the plain address is refused. (moto does not verify the
        # signature's value itself; a real S3, MinIO included, does.)
        assert requests.get(url.split("?")[0], timeout=5).status_code == 403
        store.delete(key)
        with pytest.raises(StorageError):
            store.get(key)
        missing = S3Storage("no-such-bucket-here", config["TANDEM_S3_ENDPOINT_URL"],
                            access_key="x", secret_key="y")
        with pytest.raises(StorageError):
            missing.put(new_key("a", "png"), b"x", "image/png")
