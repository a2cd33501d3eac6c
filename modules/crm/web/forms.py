"""Web forms for customers, contacts and follow-ups.

Forms only collect input: the services validate and normalise, and ``core.web.forms.submit``
puts their field errors back on the form so the page shows them next to the inputs.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import DateField
from wtforms import DateTimeLocalField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms.validators import Optional

from modules.crm.models.customer import CUSTOMER_LEVELS
from modules.crm.models.customer import CUSTOMER_SOURCES
from modules.crm.models.customer import CUSTOMER_TYPES
from modules.crm.models.customer import FOLLOW_UP_CHANNELS


def _choices(mapping: dict[str, str], blank: str | None = None) -> list[tuple[str, Any]]:
    items = [(k, _l(v)) for k, v in mapping.items()]
    return [("", _l(blank)), *items] if blank is not None else items


class CustomerForm(FlaskForm):
    customer_type = SelectField(
        _l("客户类型"), choices=_choices(CUSTOMER_TYPES), validate_choice=False
    )
    customer_name = StringField(_l("客户名称"))
    phone = StringField(_l("手机号"), description=_l("个人客户必填，如 138 1234 5678"))
    tax_id = StringField(_l("统一社会信用代码"), description=_l("企业客户必填，18 位"))
    industry = StringField(_l("所属行业"))
    customer_level = SelectField(
        _l("客户分级"), choices=_choices(CUSTOMER_LEVELS), default="normal", validate_choice=False
    )
    tags = StringField(_l("标签"), description=_l("多个标签用逗号或空格分隔"))
    address = StringField(_l("地址"))
    source = SelectField(
        _l("来源渠道"), choices=_choices(CUSTOMER_SOURCES, "—"), validate_choice=False
    )
    status = SelectField(
        _l("状态"),
        choices=[("active", _l("活跃")), ("inactive", _l("非活跃"))],
        default="active",
        validate_choice=False,
    )
    owner_id = SelectField(_l("负责人"), choices=[], validate_choice=False)
    remark = TextAreaField(_l("备注"))

    def set_owner_choices(self, users: list[Any]) -> None:
        self.owner_id.choices = [(str(u.id), u.name) for u in users]

    def service_data(self) -> dict[str, Any]:
        """The submitted values under the service's field names."""
        data = {name: field.data for name, field in self._fields.items() if name != "csrf_token"}
        data["owner_id"] = data.get("owner_id") or None
        return data


class ContactForm(FlaskForm):
    name = StringField(_l("姓名"))
    title = StringField(_l("职务"))
    phone = StringField(_l("电话"))
    email = StringField(_l("邮箱"))
    wechat = StringField(_l("微信"))
    is_primary = BooleanField(_l("主要联系人"))
    remark = TextAreaField(_l("备注"))

    def service_data(self) -> dict[str, Any]:
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}


class FollowUpForm(FlaskForm):
    follow_up_at = DateTimeLocalField(
        _l("跟进时间"), validators=[Optional()], format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
    )
    channel = SelectField(
        _l("跟进方式"), choices=_choices(FOLLOW_UP_CHANNELS), validate_choice=False
    )
    content = TextAreaField(_l("跟进内容"))
    next_follow_up_date = DateField(_l("下次跟进日期"), validators=[Optional()])

    def service_data(self) -> dict[str, Any]:
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}

