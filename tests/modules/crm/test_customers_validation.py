"""Field rules: phone normalisation, USCC via python-stdnum, tags, required fields per type."""

from __future__ import annotations

import pytest

from core.errors import FieldError
from core.errors import ValidationError
from modules.crm.services.customers import create_customer
from modules.crm.validation import clean_contact_phone
from modules.crm.validation import clean_mobile
from modules.crm.validation import clean_tags
from modules.crm.validation import clean_tax_id
from tests.modules.crm.factories import ctx_for
from tests.modules.crm.factories import customer_data
from tests.modules.crm.factories import tax_id


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "0086 13812345678",
        "8613812345678",
        "138-1234-5678",
        " 138 1234 5678 ",
    ],
)
def test_mobile_is_normalised(raw):
    assert clean_mobile(raw) == "13812345678"


@pytest.mark.parametrize(
    "raw",
    ["1381234567", "23812345678", "12812345678", "138123456789", "1381234567a", "+1 138 1234 5678"],
)
def test_bad_mobile_has_a_chinese_message(raw):
    with pytest.raises(FieldError, match="手机号格式不正确"):
        clean_mobile(raw)


def test_empty_mobile_is_none():
    assert clean_mobile("  ") is None
    assert clean_mobile(None) is None


def test_contact_phone_accepts_landlines():
    assert clean_contact_phone("010-8888 6666") == "01088886666"
    assert clean_contact_phone("+86 139 0000 0001") == "13900000001"
    with pytest.raises(FieldError, match="电话格式不正确"):
        clean_contact_phone("12345")


def test_uscc_good_and_bad():
    good = tax_id(1)
    assert clean_tax_id(good.lower()) == good
    assert clean_tax_id(f"{good[:6]} {good[6:]}") == good
    bad_digit = "0" if good[-1] != "0" else "1"
    with pytest.raises(FieldError, match="校验位不正确"):
        clean_tax_id(good[:-1] + bad_digit)
    with pytest.raises(FieldError, match="应为 18 位"):
        clean_tax_id(good[:-1])
    with pytest.raises(FieldError, match="格式不正确"):
        clean_tax_id("9111000X600037341L")
    assert clean_tax_id("91110000600037341L") == "91110000600037341L"  # a real, published one


def test_tags_are_split_deduplicated_and_limited():
    assert clean_tags("重点, 老客户，重点 VIP") == "重点,老客户,VIP"
    assert clean_tags(["a", " b ", "a"]) == "a,b"
    assert clean_tags("") is None
    with pytest.raises(FieldError, match="最多"):
        clean_tags(["x" * 21])


def test_required_fields_per_type(app_ctx, make_user):
    ctx = ctx_for(make_user("sales"))
    with pytest.raises(ValidationError) as err:
        create_customer(ctx, customer_data(phone=None))
    assert err.value.fields == {"phone": "个人客户必须填写手机号"}
    with pytest.raises(ValidationError) as err:
        create_customer(ctx, customer_data(customer_type="enterprise", tax_id=""))
    assert err.value.fields == {"tax_id": "企业客户必须填写统一社会信用代码"}
    with pytest.raises(ValidationError) as err:
        create_customer(ctx, customer_data(customer_name=" ", customer_level="vip", phone="123"))
    assert set(err.value.fields) == {"customer_name", "customer_level", "phone"}
    assert err.value.fields["customer_name"] == "客户名称不能为空"


def test_individual_customers_drop_a_tax_id(app_ctx, make_user):
    ctx = ctx_for(make_user("sales"))
    customer = create_customer(ctx, customer_data(tax_id=tax_id(2)))
    assert customer.tax_id is None
