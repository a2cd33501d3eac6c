{
    "name": "wecom",
    "title": "企业微信",
    "version": "1.0.0",
    "summary": "企业微信回调（自建应用、智能机器人、公众号）、群机器人推送、应用消息与卡片",
    "category": "Integrations",
    "depends": [],
    "external_dependencies": {"python": ["cryptography", "defusedxml", "wechatpy"]},
    "application": True,
    "sequence": 50,
}
