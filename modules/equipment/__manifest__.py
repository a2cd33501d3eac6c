{
    "name": "equipment",
    "title": "设备档案",
    "version": "1.0.0",
    "summary": "安装生成设备档案、保修期、维护记录、预防性维护计划与提醒、设备360°视图",
    "category": "Service",
    "depends": ["sales"],
    "application": True,
    "sequence": 40,
    "external_dependencies": {"python": ["chinese_calendar", "segno"]},
}
