{
    "name": "service",
    "title": "售后服务",
    "version": "1.1.0",
    "summary": "售后工单：报修受理、派单与抢单、SLA、群聊协作、工程师手机工作台、满意度",
    "category": "Service",
    "depends": ["crm", "sales", "equipment"],
    "application": True,
    "sequence": 40,
    "external_dependencies": {"python": ["chinese_calendar", "fpdf"]},
}
