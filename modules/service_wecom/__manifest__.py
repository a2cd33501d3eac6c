{
    "name": "service_wecom",
    "title": "售后 × 企业微信客户",
    "version": "1.0.0",
    "summary": "已认证客户在公众号发送“售后/维修”自助报修，返回工单号；未认证客户收到认证指引",
    "category": "Integrations",
    "depends": ["service", "wecom_crm"],
    "auto_install": True,
    "sequence": 62,
}
