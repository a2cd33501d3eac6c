{
    "name": "sales",
    "title": "订单",
    "version": "1.0.0",
    "summary": "成交生成订单：订单号、状态流转（待确认→已确认→已付款→已配送→已安装→已完成）、"
    "订单变更记录、配送与安装计划",
    "category": "Sales",
    "depends": ["crm"],
    "application": True,
    "sequence": 30,
    "external_dependencies": {"python": ["icalendar"]},
}
