"""Write core's English catalog (core/translations/en/LC_MESSAGES/messages.po).

Chinese is the source language (the msgids); this table is the English. Strings that are
declared in Python and translated at display time (menu labels, list titles, column labels,
permission labels) are listed here too, since pybabel cannot find them. Run after adding UI
text to the core; `scripts/i18n_check.sh` reports msgids without a translation.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

EN = {
    # shell, login, home
    "登录": "Log in", "退出登录": "Log out", "首页": "Home", "欢迎，%(name)s": "Welcome, %(name)s",
    "用户名": "Username", "密码": "Password", "请输入用户名": "Enter your username",
    "请输入密码": "Enter your password", "用户名或密码错误。": "Wrong username or password.",
    "您已退出登录。": "You are logged out.", "请先登录。": "Please log in first.",
    "通知": "Notifications", "全部标为已读": "Mark all as read", "暂无通知": "No notifications",
    # menus
    "设置": "Settings", "应用": "Apps", "用户": "Users", "角色与权限": "Roles & permissions",
    "团队": "Teams", "系统设置": "System settings", "操作日志": "Audit log",
    "后台任务": "Background jobs",
    # apps page
    "已安装": "Installed", "未安装": "Not installed", "待升级": "Upgrade pending",
    "代码缺失": "Code missing", "安装中": "Installing", "卸载中": "Uninstalling",
    "版本": "Version", "已装": "installed", "依赖": "Depends on", "自动安装": "Auto-install",
    "安装": "Install", "升级": "Upgrade", "卸载": "Uninstall",
    "确认卸载并删除数据": "Uninstall and delete the data", "取消": "Cancel",
    # lists and forms
    "搜索": "Search", "全部": "all", "筛选": "Filter", "共 %(n)s 条": "%(n)s records",
    "是": "Yes", "否": "No", "没有记录": "No records", "上一页": "Previous", "下一页": "Next",
    "保存": "Save", "创建": "Create", "状态": "Status", "启用": "Active", "停用": "Inactive",
    "姓名": "Name", "企业微信账号 (userid)": "WeCom account (userid)", "手机号": "Mobile",
    "邮箱": "E-mail", "邮箱格式不正确": "Invalid e-mail address", "角色": "Roles",
    "密码（留空则不修改）": "Password (leave empty to keep)", "团队名称": "Team name",
    "请输入团队名称": "Enter a team name", "经理": "Manager", "成员": "Members",
    "没有团队": "No teams", "成员在用户编辑页设置团队。": "Members are set on the user page.",
    "新建团队": "New team", "编辑用户": "Edit user", "新建用户": "New user",
    "企业微信账号": "WeCom account", "最近登录": "Last login",
    # roles, settings, audit, jobs
    "权限": "Permission", "管理员拥有全部权限": "Admins hold every permission",
    "未设置": "not set", "密钥不会回显；留空表示不修改。":
        "Secrets are never shown; leave empty to keep the current value.",
    "环境变量": "Environment variable",
    "已安装的应用没有可配置的设置。": "The installed apps have no settings.",
    "时间": "Time", "操作人": "Actor", "来源": "Source", "对象": "Object", "记录": "Record",
    "操作": "Action", "变更": "Changes", "操作人ID": "Actor id", "起始日期": "From",
    "截止日期": "To", "网页": "Web", "机器人": "Bot", "命令行": "CLI", "系统": "System",
    "失败的任务": "Failed jobs", "任务": "Job", "参数": "Arguments", "错误": "Error",
    "运行方式": "Runner", "将自动重试": "will retry", "已重试": "retried", "重试": "Retry",
    "没有失败的任务": "No failed jobs", "已注册的任务": "Registered jobs", "计划": "Schedule",
    "队列": "Queue", "说明": "Description",
    # roles
    "管理员": "Administrator", "销售": "Sales", "工程师": "Engineer", "仓库": "Warehouse",
    # permissions of the core
    "查看用户": "View users", "管理用户": "Manage users", "管理角色与权限": "Manage roles",
    "管理团队": "Manage teams", "管理系统设置": "Manage settings",
    "查看操作日志": "View the audit log", "安装与卸载应用": "Install and uninstall apps",
    "查看与重试后台任务": "View and retry background jobs",
    # bot
    "可用命令：": "Commands:", "发送“#帮助 命令”查看某条命令的用法。":
        "Send “#帮助 COMMAND” for a command's usage.",
    "没有“#%(trigger)s”这个命令。": "There is no command “#%(trigger)s”.",
    "您好，我是 Tandem 机器人，请发送以 # 开头的命令。":
        "Hello, I am the Tandem bot: send a command starting with #.",
    "抱歉，处理您的消息时出错了，请稍后再试或联系管理员。":
        "Sorry, something went wrong with your message; try again later or ask an admin.",
    "这个按钮已失效，请在系统中操作。": "This button has expired; please use the web app.",
    "这张卡片已失效，请在系统中操作。": "This card has expired; please use the web app.",
    "操作：": "Actions: ", "查看详情": "Details", "已完成。": "Done.",
    "也可以写作：": "Also written as: ",
    "（您没有使用此命令的权限）": "(you may not use this command)",
    "企业微信账号待绑定": "WeCom account to bind",
    "您好！您的企业微信账号尚未绑定 Tandem 用户，暂时无法使用机器人。":
        "Hello! Your WeCom account is not bound to a Tandem user yet, so the bot cannot help you.",
    "已通知管理员为您绑定，请稍后再试。": "An admin has been asked to bind it; try again later.",
    "请联系管理员为您绑定。": "Please ask an admin to bind it.",
    "您的 Tandem 账号已停用，无法使用机器人。": "Your Tandem account is deactivated.",
    # timeline, kanban, audit sources
    "修改": "Update", "暂无记录": "Nothing recorded yet", "添加备注": "Add a note",
    "添加备注…": "Add a note…", "还有 %(n)s 条": "%(n)s more", "API": "API",
    "、": ", ",  # the list separator (roles of a user)
    "：": ": ",  # the colon after a label
    # bot dispatcher replies (English for users who chose it)
    "“#%(trigger)s”可用于多种记录，请写明编号（例如 %(examples)s）。":
        "“#%(trigger)s” works on several kinds of records: give the number "
        "(for example %(examples)s).",
    "请写明要操作的记录（例如 %(example)s），或在机器人发出的卡片之后再发送命令。":
        "Say which record (for example %(example)s), or send the command after a card the "
        "bot posted.",
    "请 @ 一位同事，例如：%(usage)s": "@ a colleague, for example: %(usage)s",
    "找不到同事“%(name)s”，请确认其已绑定 Tandem 账号。":
        "No colleague “%(name)s”: check that they are bound to a Tandem account.",
    "有多位同事叫“%(name)s”，请改用企业微信账号 @ 他。":
        "Several colleagues are called “%(name)s”: @ them by their WeCom account instead.",
    "企业微信用户 %(userid)s 向机器人发送了消息，但尚未绑定 Tandem 用户。"
    "请在用户管理中为其填写企业微信账号。":
        "WeCom user %(userid)s sent the bot a message but is not bound to a Tandem user. "
        "Enter the WeCom account in user management.",
    # API errors (core/api/endpoint.py)
    "请求无效": "Invalid request", "缺少、无效或已撤销的访问令牌":
        "Missing, invalid or revoked access token",
    "无权限": "Permission denied", "接口或记录不存在": "No such endpoint or record",
    "不支持的请求方法": "Method not allowed", "请求体过大": "Request body too large",
    "不支持的内容类型": "Unsupported content type",
    "请求过于频繁，请稍后再试": "Too many requests; try again later",
    "请求失败": "Request failed", "请求体不是有效的 JSON": "The request body is not valid JSON",
    "数据冲突：记录重复或已被修改": "Conflict: the record is a duplicate or was changed",
    # field messages of validation errors (core/api/schemas.py); {placeholders} kept as is
    "必填": "Required", "不支持的字段": "Field not allowed",
    "取值无效，可选：{expected}": "Invalid value; one of: {expected}", "取值无效": "Invalid value",
    "必须是字符串": "Must be a string",
    "至少 {min_length} 个字符": "At least {min_length} characters",
    "最多 {max_length} 个字符": "At most {max_length} characters", "格式不正确": "Invalid format",
    "必须是整数": "Must be an integer", "必须是数字": "Must be a number",
    "必须是 true 或 false": "Must be true or false",
    "必须是十进制数字（字符串）": "Must be a decimal number (as a string)",
    "数字位数过多": "Too many digits", "最多 {decimal_places} 位小数":
        "At most {decimal_places} decimal places",
    "整数位数过多": "Too many digits before the decimal point",
    "必须是日期（YYYY-MM-DD）": "Must be a date (YYYY-MM-DD)",
    "必须是 ISO 8601 时间": "Must be an ISO 8601 date-time",
    "必须大于 {gt}": "Must be greater than {gt}", "不能小于 {ge}": "Must be at least {ge}",
    "必须小于 {lt}": "Must be less than {lt}", "不能大于 {le}": "Must be at most {le}",
    "必须是数组": "Must be an array", "必须是对象": "Must be an object",
    "至少 {min_length} 项": "At least {min_length} items",
    "最多 {max_length} 项": "At most {max_length} items",
    "字段无效：%(fields)s": "Invalid fields: %(fields)s",
    # list query strings (core/api/listing.py)
    "不支持的排序：%(sort)s（可用：%(allowed)s）":
        "Unsupported sort: %(sort)s (available: %(allowed)s)",
    "查询参数无效：%(names)s": "Invalid query parameters: %(names)s",
    "此排序不支持游标翻页，请使用 page": "This sort does not support cursors; use page",
    "游标无效": "Invalid cursor", "游标与当前排序不一致": "The cursor does not match the sort",
    "%(name)s 必须是整数": "%(name)s must be an integer",
    "%(name)s 超出范围 %(low)s–%(high)s": "%(name)s is out of range %(low)s–%(high)s",
    "应在 %(low)s–%(high)s": "Must be between %(low)s and %(high)s",
    # users, teams, tokens, permissions
    "用户不存在": "User not found", "团队不存在": "Team not found", "令牌不存在": "Token not found",
    "角色不存在：%(codes)s": "Unknown roles: %(codes)s",
    "用户名不能为空": "Username is required",
    "用户名 %(username)s 已存在": "Username %(username)s already exists",
    "用户名已存在": "Username already exists",
    "企业微信账号已绑定其他用户": "The WeCom account is bound to another user",
    "已被绑定": "Already bound",
    "密码至少 %(n)s 位": "Password must have at least %(n)s characters",
    "密码过短": "Password too short", "用户 %(username)s 不存在": "User %(username)s not found",
    "不能停用自己的账号": "You cannot deactivate your own account",
    "请检查：%(problems)s": "Please check: %(problems)s",
    "；": "; ",  # the separator between messages
    "无权限：需要“%(label)s”（%(permission)s）":
        "Permission denied: requires “%(label)s” (%(permission)s)",
    "登录尝试过于频繁，请稍后再试。": "Too many login attempts; try again later.",
    # admin pages
    "已创建用户 %(username)s": "User %(username)s created",
    "已保存用户 %(username)s": "User %(username)s saved", "权限已保存": "Permissions saved",
    "团队名称已存在": "A team with this name already exists",
    "已创建团队 %(name)s": "Team %(name)s created",
    "%(label)s：格式不正确": "%(label)s: invalid format",
    "未保存：%(errors)s": "Not saved: %(errors)s",
    "设置已保存": "Settings saved", "已重新排队": "Queued again",
    "该任务已重试过": "This job was already retried",
    # timeline
    "记录不存在": "Record not found", "请输入备注内容": "Enter a note",
    "备注过长": "The note is too long", "最多 %(n)s 字": "At most %(n)s characters",
    "已添加备注": "Note added",
    # modules (Apps page, CLI)
    "已安装：%(modules)s": "Installed: %(modules)s", "已升级：%(modules)s": "Upgraded: %(modules)s",
    "已卸载：%(modules)s": "Uninstalled: %(modules)s",
    "将卸载：%(modules)s": "Will uninstall: %(modules)s",
    "将删除以下数据表及其数据：": "These tables and their data will be deleted:",
    "%(table)s：%(rows)s 行": "%(table)s: %(rows)s rows",
    "没有数据表将被删除。": "No table will be deleted.",
    "找不到模块 %(name)s": "Module %(name)s not found",
    "模块 %(name)s 不可安装": "Module %(name)s is not installable",
    "模块 %(name)s 未安装": "Module %(name)s is not installed",
    "无法卸载 %(name)s：%(dependents)s 依赖它（可使用 --cascade）":
        "Cannot uninstall %(name)s: %(dependents)s depend on it (use --cascade)",
    "模块 %(name)s 依赖的模块 %(dep)s 不存在":
        "Module %(name)s depends on a missing module %(dep)s",
    "模块依赖存在循环：%(cycle)s": "Module dependencies form a cycle: %(cycle)s",
    "模块目录名 %(folder)s 与清单中的名称 %(name)s 不一致":
        "Module folder %(folder)s does not match the manifest name %(name)s",
    "入口点 %(name)s 指向的包 %(package)s 不存在":
        "Entry point %(name)s points to a missing package %(package)s",
    "模块名 core 为系统保留": "The module name core is reserved",
    "模块名冲突：%(name)s（%(first)s 与 %(second)s）":
        "Module name clash: %(name)s (%(first)s and %(second)s)",
    "清单文件无法解析：%(path)s（%(error)s）": "Cannot parse the manifest %(path)s (%(error)s)",
    "清单文件必须是一个字典：%(path)s": "The manifest must be a dict: %(path)s",
    "清单文件含未知字段 %(keys)s：%(path)s": "Unknown manifest keys %(keys)s: %(path)s",
    "清单文件缺少字段 %(keys)s：%(path)s": "Missing manifest keys %(keys)s: %(path)s",
    "depends 必须是模块名列表：%(path)s": "depends must be a list of module names: %(path)s",
    # jobs and the command line
    "未知的后台任务：%(name)s": "Unknown background job: %(name)s",
    "错误：%(message)s": "Error: %(message)s",
    "请指定模块名，或使用 --default": "Name the modules, or use --default",
    "(模块命令不可用：%(error)s)": "(module commands unavailable: %(error)s)",
    "未设置 REDIS_URL：嵌入模式下任务在 Web 进程内运行，无需 worker。":
        "REDIS_URL is not set: in embedded mode jobs run in the web process; no worker needed.",
    "任务失败：%(error)s": "Job failed: %(error)s",
    # error pages
    "链接中的参数无法识别，例如不存在的筛选条件或排序方式。请返回上一页，或清除筛选后重试。":
        "The link has a value this page does not know, such as a filter or sort order. "
        "Go back, or clear the filters and try again.",
    "无权访问": "Access denied",
    "您没有访问此页面的权限。如需访问，请联系管理员。":
        "You may not open this page. Ask an administrator if you need it.",
    "页面不存在": "Page not found",
    "链接可能有误，或记录已被删除。": "The link may be wrong, or the record was deleted.",
    "此页面不接受这种请求。请从页面上的按钮或链接进入。":
        "This page does not take this kind of request. Use the page's buttons and links.",
    "提交的内容过大": "Too large",
    "请缩小文件或内容后重试。": "Make the file or text smaller and try again.",
    "操作过于频繁": "Too many requests", "请稍后再试。": "Please try again later.",
    "服务器出错了": "Server error",
    "请求未能完成，错误已记录。请稍后重试。":
        "The request could not be completed; the error was logged. Please try again later.",
    "返回首页": "Back to the home page", "页面已过期": "Page expired",
    "表单的安全校验（CSRF 令牌）缺失或已过期。请刷新页面后重新提交。":
        "The form's security check (its CSRF token) is missing or expired. Reload the page "
        "and send it again.",
    # imports (issue 19)
    '这次试导入已确认过': 'This dry run was already confirmed',
    '“%(value)s”不是可选值（可选：%(choices)s）':
        '“%(value)s” is not one of the choices (%(choices)s)',
    '不支持的文件类型（可用：%(types)s）': 'Unsupported file type (use %(types)s)',
    '列': 'Column',
    '只能确认已完成的试导入': 'Only a finished dry run can be confirmed',
    '只能确认自己的试导入': 'You can confirm only your own dry runs',
    '可导入': 'Can be imported',
    '可选值': 'Choices',
    '可选：': 'Choices: ',
    '导入中断：%(error)s': 'Import stopped: %(error)s',
    '导入记录 #%(id)s：%(status)s，共 %(total)s 行，%(verb)s %(created)s 行，错误 %(errors)s 行':
        'Import #%(id)s: %(status)s, %(total)s rows, %(verb)s %(created)s, with errors '
        '%(errors)s',
    '导入记录不存在': 'Import not found',
    '已导入': 'Imported',
    '文件是空的': 'The file is empty',
    '文件类型不支持': 'Unsupported file type',
    '文件过大': 'File too large',
    '文件过大（最大 50 MB）': 'File too large (50 MB at most)',
    '无效的值': 'Invalid value',
    '无法读取文件：%(error)s': 'Cannot read the file: %(error)s',
    '没有这种导入：%(kind)s': 'No such import: %(kind)s',
    '用户不存在：%(name)s': 'No such user: %(name)s',
    '缺少必填列“%(label)s”': 'The required column “%(label)s” is missing',
    '行': 'rows',
    '行号': 'Row',
    '请上传 Excel 或 CSV 文件（%(types)s）': 'Upload an Excel or CSV file (%(types)s)',
    '请从下拉列表中选择': 'Choose from the list',
    '错误报告：%(path)s': 'Error report: %(path)s',
    '上传并试导入': 'Upload and check',
    '下载模板：': 'Templates: ',
    '下载错误报告': 'Download the error report',
    '你没有可用的导入。': 'There is nothing you may import.',
    '先下载模板填写，上传后系统先试导入并列出有问题的行；确认后导入其余的行，有问题的行会被跳过。':
        'Fill in the template and upload it: a dry run lists the rows with problems '
        'first; when you confirm, the other rows are imported and the rows with problems '
        'are skipped.',
    '共 %(n)s 行': '%(n)s rows',
    '只列出前 %(n)s 行，完整列表请下载错误报告。':
        'Only the first %(n)s rows are listed; download the error report for all of them.',
    '可导入 %(n)s': '%(n)s can be imported',
    '导入': 'Import',
    '导入人': 'Imported by',
    '导入内容': 'What to import',
    '导入记录': 'Imports',
    '已导入 %(n)s': '%(n)s imported',
    '总行数': 'Rows',
    '数据导入': 'Data import',
    '文件（Excel 或 CSV）': 'File (Excel or CSV)',
    '有错误的行': 'Rows with errors',
    '有问题的行': 'Rows with problems',
    '查看导入结果': 'See the import',
    '确认导入 %(n)s 行（跳过有错误的行）': 'Import %(n)s rows (skip the rows with errors)',
    '第 %(n)s 行': 'Row %(n)s',
    '试导入': 'Dry run',
    '还没有导入记录': 'No imports yet',
    '错误 %(n)s': '%(n)s with errors',
    '等待中': 'Waiting',
    '进行中': 'Running',
    '失败': 'Failed',
    '导入 Excel/CSV 文件': 'Import an Excel/CSV file',
    '导入模板': 'import template',
    '错误报告': 'error report',
    # shared by modules' messages
    "请填写原因": "Enter a reason", "负责人无效": "Invalid owner", "已分配": "Assigned",
}


def main() -> None:
    catalog = Catalog(locale="en", project="Tandem", domain="messages")
    for source, english in sorted(EN.items()):
        catalog.add(source, english)
    out = Path(__file__).resolve().parents[1] / "core/translations/en/LC_MESSAGES/messages.po"
    with out.open("wb") as fh:
        write_po(fh, catalog, sort_output=True)
    print(f"wrote {len(EN)} messages to {out}")


if __name__ == "__main__":
    main()
