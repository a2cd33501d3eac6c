{
    "name": "crm",
    "title": "客户管理",
    "version": "1.0.0",
    "summary": "客户、联系人、跟进、商机、客户360°视图与客户交接",
    "category": "Sales",
    "depends": [],
    "application": True,
    "sequence": 10,
}
