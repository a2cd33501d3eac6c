{
    "name": "wecom_crm",
    "title": "企业微信 × 客户",
    "version": "1.0.0",
    "summary": "客户身份升级：公众号手机号临时绑定、企业微信添加后核验；交接时转移企业微信客户",
    "category": "Integrations",
    "depends": ["wecom", "crm"],
    "auto_install": True,
    "sequence": 60,
}
