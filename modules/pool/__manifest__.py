{
    "name": "pool",
    "title": "公海池",
    "version": "1.0.0",
    "summary": "客户公海：按客户分级自动回收、到期提醒、领取上限与冷却期、经理分配、流转历史",
    "category": "Sales",
    "depends": ["crm"],
    "application": True,
    "sequence": 20,
}
