# ruff: noqa: E501 (a translation stays on one line, beside its English)
"""The core's messages in Chinese (简体中文): English message id → translation.

Keep every ``{slot}`` of the English, formats and all (a test checks); the
words follow the TUI's (:data:`crm_core.tui.i18n.ZH`): 客户 record, 公海 pool,
阶段 stage, 负责人 owner, 领取 claim, 流程 workflow, 商机 deal.
"""

MESSAGES: dict[str, str] = {
    # -- errors: the kinds every command shares
    "invalid {kind}: {problems}": "{kind} 无效：{problems}",
    "field '{field}': {why}": "字段“{field}”：{why}",
    "owned by {owner}": "负责人为 {owner}",
    "with no owner": "无负责人",
    "duplicate of #{id} {who} (same {field}: {value})": (
        "与 #{id} 重复，{who}（{field} 相同：{value}）"
    ),
    "plugin '{plugin}' failed in {hook}: {error_type}: {error}": (
        "插件“{plugin}”在 {hook} 中出错：{error_type}：{error}"
    ),
    # -- users, acting user, permissions
    "no acting user: pass --as USER or set CRM_USER": "没有操作用户：请用 --as 用户 或设置 CRM_USER",
    "no user '{name}' (an admin adds one with: crm user add)": (
        "没有用户“{name}”（管理员可用 crm user add 添加）"
    ),
    "no user '{name}'": "没有用户“{name}”",
    "user '{name}' is inactive": "用户“{name}”已停用",
    "user '{name}' already exists": "用户“{name}”已存在",
    "user '{owner}' is inactive and cannot own records": "用户“{owner}”已停用，不能负责客户",
    "a user name must be 1 to 64 characters": "用户名须为 1 到 64 个字符",
    "role must be one of {names}, not {role}": "角色须为 {names} 之一，而不是 {role}",
    "nothing to change: give --email or --phone": "没有要修改的内容：请给出 --email 或 --phone",
    "{name} may not change {name2}'s availability": "{name} 不能修改 {name2} 的在岗状态",
    "only an admin may {what}; {actor} is {role}": "只有管理员可以{what}；{actor} 的角色是 {role}",
    "only an admin or a manager may plan workflows; {who} is {role}": (
        "只有管理员或经理可以规划流程；{who} 的角色是 {role}"
    ),
    "{name} may not run the scheduler (managers, admins)": "{name} 不能运行调度（限经理、管理员）",
    "{name} may not leave owners to the rules": "{name} 不能把负责人交给规则分配",
    "{actor} ({role}) may not {action} record #{record_id}, which {where}{hint}": (
        "{actor}（{role}）不能对客户 #{record_id} 执行 {action}，该客户{where}{hint}"
    ),
    "{actor} ({role}) may not {action} deal #{deal_id}, which {where}": (
        "{actor}（{role}）不能对商机 #{deal_id} 执行 {action}，该商机{where}"
    ),
    "{actor} ({role}) may give records only to {scope}, not to {owner_name}": (
        "{actor}（{role}）只能把客户交给 {scope}，不能交给 {owner_name}"
    ),
    "is theirs": "归其本人",
    "belongs to their team": "属于其团队",
    "waits in their pool": "在其公海中等待领取",
    "waits in a pool their team works": "在其团队的公海中等待领取",
    "is neither theirs, their team's nor in their pools": "既不归其本人或其团队，也不在其公海中",
    ": claim it first (crm pool claim {record_id})": "：请先领取（crm pool claim {record_id}）",
    ": give it an owner first (crm record update {record_id} --owner NAME)": (
        "：请先指定负责人（crm record update {record_id} --owner 用户名）"
    ),
    "record #{record_id} is {holder}; {actor} may not use it": (
        "客户 #{record_id} {holder}；{actor} 无权使用"
    ),
    "not in any of your pools": "不在你的任何公海中",
    "deal #{deal_id} is not visible to {actor}": "{actor} 看不到商机 #{deal_id}",
    # -- records, contacts, deals, tasks
    "no record #{record_id}": "没有客户 #{record_id}",
    "record #{record_id} is archived": "客户 #{record_id} 已归档",
    "record #{id} is archived": "客户 #{id} 已归档",
    "record #{record_id} is already archived": "客户 #{record_id} 已经归档",
    "record #{record_id} is at version {version}, not {expected_version}: someone changed it; "
    "show it again and retry": (
        "客户 #{record_id} 当前是第 {version} 版而不是第 {expected_version} 版：有人改过它；请重新打开后再试"
    ),
    "a record with the same {names} was just added; retry": "刚刚有人添加了 {names} 相同的客户；请重试",
    "give --owner or leave the owner to the rules, not both": "请给出 --owner 或把负责人交给规则分配，不能两者都要",
    "a contact needs a name": "联系人需要姓名",
    "a deal needs a title": "商机需要名称",
    "a deal stage cannot be empty": "商机阶段不能为空",
    "no deal #{deal_id}": "没有商机 #{deal_id}",
    "deal #{deal_id} already has these values": "商机 #{deal_id} 已经是这些值",
    "deal #{deal_id} is already {stage}": "商机 #{deal_id} 已经是 {stage}",
    "deal #{deal_id} is already {owner}'s": "商机 #{deal_id} 已经归 {owner}",
    "amount {amount} is not a number": "金额 {amount} 不是数字",
    "amount {amount} must be a finite number >= 0": "金额 {amount} 须为大于等于 0 的有限数",
    "amount {amount} has more than two decimals": "金额 {amount} 超过两位小数",
    "amount {amount} is too large": "金额 {amount} 太大",
    "currency must be a three-letter code, not {currency}": "币种须为三个字母的代码，而不是 {currency}",
    "an activity cannot happen in the future": "跟进记录的时间不能在将来",
    "a task needs a note": "任务需要内容",
    "no task #{task_id}": "没有任务 #{task_id}",
    "task #{task_id} is already done": "任务 #{task_id} 已经完成",
    "record #{source_id} is archived": "客户 #{source_id} 已归档",
    "record #{source_id} is already a {to_kind}": "客户 #{source_id} 已经是 {to_kind}",
    "record #{source_id} was already converted to #{converted_to}": (
        "客户 #{source_id} 已经转化为 #{converted_to}"
    ),
    # -- fields and their values
    "no kind '{name}' (known kinds: {known})": "没有类型“{name}”（已有类型：{known}）",
    "no activity type '{name}' (known: {known})": "没有跟进方式“{name}”（已有：{known}）",
    "unknown field (known fields: {known})": "未知字段（已有字段：{known}）",
    "is required": "必填",
    "invalid values": "值无效",
    "is required to enter {target}": "进入 {target} 阶段时必填",
    "{value} {why}": "{value} {why}",
    "{value} is not {what}": "{value} 不是{what}",
    "a whole number": "整数",
    "a number": "数字",
    "{value} is not a number": "{value} 不是数字",
    "{value} is not yes/no": "{value} 不是 是/否",
    "not a JSON list: {error}": "不是 JSON 列表：{error}",
    "is not a finite number": "不是有限数",
    "is beyond the 64-bit integer range": "超出 64 位整数范围",
    "contains a NUL character": "含有 NUL 字符",
    "is not a finite amount": "不是有限金额",
    "is too large an amount (at most {most:,})": "金额太大（最多 {most:,}）",
    "has more than two decimals": "超过两位小数",
    "not a phone number: {value}": "不是电话号码：{value}",
    "not an e-mail address: {value}": "不是邮箱地址：{value}",
    "empty company name: {value}": "公司名称为空：{value}",
    "empty value": "值为空",
    # jsonschema's words for a bad value (recognised in the text it wrote)
    "{value} is too long": "{value} 太长",
    "{value} is too short": "{value} 太短",
    "{value} is not one of {choices}": "{value} 不是 {choices} 之一",
    "{value} is less than the minimum of {minimum}": "{value} 小于最小值 {minimum}",
    "{value} is greater than the maximum of {maximum}": "{value} 大于最大值 {maximum}",
    "{value} is not of type {type}": "{value} 的类型不是 {type}",
    "{value} is not a {format}": "{value} 不是有效的 {format}",
    "{value} does not match {pattern}": "{value} 不符合格式 {pattern}",
    # -- lists and pages
    "limit must be between 1 and {max}": "条数须在 1 到 {max} 之间",
    "limit must be at least 1, not {limit}": "条数至少为 1，而不是 {limit}",
    "batch must be at least 1": "批量至少为 1",
    "--days must be at least 1": "--days 至少为 1",
    "filtering on fields needs --kind": "按字段筛选需要 --kind",
    "filtering on fields needs a kind": "按字段筛选需要指定类型",
    "no field '{name}' in {kind}": "{kind} 没有字段“{name}”",
    "unknown sort '{sort}' (sorts: {names})": "未知排序“{sort}”（可用排序：{names}）",
    "that cursor pages the '{made_for}' sort, not '{sort}'": (
        "该翻页游标属于“{made_for}”排序，而不是“{sort}”"
    ),
    "not a page cursor: {cursor}": "不是翻页游标：{cursor}",
    # -- pools (公海)
    "no pool '{name}' (pools: {names})": "没有公海“{name}”（已有公海：{names}）",
    "a pool needs a name": "公海需要名称",
    "pool '{name}' already exists": "公海“{name}”已存在",
    "no record #{record_id} in a pool": "公海中没有客户 #{record_id}",
    "record #{record_id} is not in a pool": "客户 #{record_id} 不在公海中",
    "record #{id} is not in a pool": "客户 #{id} 不在公海中",
    "record #{id} has no owner to release it": "客户 #{id} 没有负责人，无法退回公海",
    "a release needs --reason": "退回公海需要填写原因",
    "{kind} has no pool in its workflow: use --pool": "{kind} 的流程中没有公海：请用 --pool 指定",
    "{name} may not release into pool '{pool}': not one of their pools or their team's": (
        "{name} 不能退回到公海“{pool}”：这不是其本人或其团队的公海"
    ),
    "{who} may not see pool '{pool}': not one of their pools or their team's": (
        "{who} 看不到公海“{pool}”：这不是其本人或其团队的公海"
    ),
    "{actor} already holds {held} records, the most pool '{pool}' allows": (
        "{actor} 已持有 {held} 个客户，已达公海“{pool}”允许的上限"
    ),
    "{actor} has claimed {claimed_today} today, the most pool '{pool}' allows": (
        "{actor} 今天已领取 {claimed_today} 个，已达公海“{pool}”允许的上限"
    ),
    "{actor} held #{id} until {day}: may claim it again from {when}": (
        "{actor} 曾持有 #{id} 至 {day}：{when} 起才能再次领取"
    ),
    "you hold {held} of at most {max_held}": "你已持有 {held} 个（上限 {max_held}）",
    "you claimed {claimed} of {max_per_day} today": "你今天已领取 {claimed} 个（上限 {max_per_day}）",
    "held by you until {ended:%Y-%m-%d %H:%M}": "你曾持有至 {ended:%Y-%m-%d %H:%M}",
    # -- teams
    "a team needs a name": "团队需要名称",
    "team '{name}' already exists": "团队“{name}”已存在",
    "no team '{name}' (add it with: crm team add NAME)": "没有团队“{name}”（可用 crm team add 名称 添加）",
    # -- workflows and stage moves
    "no workflow is applied to {kind}: crm workflow apply FILE": (
        "{kind} 没有应用流程：请运行 crm workflow apply 文件"
    ),
    "no stage '{target}' in workflow {workflow} ({names})": "流程 {workflow} 中没有阶段“{target}”（{names}）",
    "record #{id} is already in {target}": "客户 #{id} 已经在 {target} 阶段",
    "cannot move from {source} to {target}; from {source} it can go to {nexts}": (
        "不能从 {source} 变更到 {target}；从 {source} 可以去 {nexts}"
    ),
    "nowhere: it is a final stage": "无处可去：这是最终阶段",
    "moving to {target} needs --reason, one of: {reasons}": "变更到 {target} 需要填写原因，可选：{reasons}",
    "guard of {source} → {target} is not met: {failed}": "{source} → {target} 的条件未满足：{failed}",
    "workflow {workflow} names {n_missing} user(s) the database lacks: {names} (add them with "
    "crm user add, or apply with --create-users)": (
        "流程 {workflow} 提到了 {n_missing} 个数据库中没有的用户：{names}"
        "（用 crm user add 添加，或用 --create-users 应用）"
    ),
    "{rule}: no user '{user}' to assign to": "{rule}：没有可分配的用户“{user}”",
    "{rule}: no pool '{spec}' (an admin adds it with: crm pool add {spec})": (
        "{rule}：没有公海“{spec}”（管理员可用 crm pool add {spec} 添加）"
    ),
    "{rule}: workflow action '{name}' is not registered: is its plugin installed and enabled?": (
        "{rule}：流程动作“{name}”未注册：其插件是否已安装并启用？"
    ),
    "workflow action '{name}' is not registered: is its plugin installed and enabled?": (
        "流程动作“{name}”未注册：其插件是否已安装并启用？"
    ),
    "{rule}: nobody to give the task to": "{rule}：没有可以接收任务的人",
    "{rule}: no user '{name}'": "{rule}：没有用户“{name}”",
    "{cause}: notify 'to' is owner, manager or pool_admins, not {to!r}": (
        "{cause}：notify 的 to 须为 owner、manager 或 pool_admins，而不是 {to!r}"
    ),
    "a journal entity of plugin '{plugin}' starts with its name": "插件“{plugin}”的日志实体须以插件名开头",
    "no workflow is applied to {kind} yet, so --map has no stages to map from": (
        "{kind} 还没有应用流程，--map 没有可映射的阶段"
    ),
    "--map expects OLD=NEW (two stage ids), got {pair}": "--map 需要 旧=新（两个阶段编号），收到 {pair}",
    "--map maps stage '{old}' twice: to '{value}' and to '{new}'": (
        "--map 把阶段“{old}”映射了两次：到“{value}”和到“{new}”"
    ),
    "--map {source}={target}: '{source}' is not a stage of the applied workflow {workflow} "
    "v{version} ({names})": (
        "--map {source}={target}：“{source}”不是已应用流程 {workflow} v{version} 的阶段（{names}）"
    ),
    "--map {source}={target}: the new file keeps stage '{source}'; --map is only for stages it "
    "removes": "--map {source}={target}：新文件保留了阶段“{source}”；--map 只用于被删除的阶段",
    "--map {source}={target}: '{target}' is not a stage of {workflow} v{version} ({names})": (
        "--map {source}={target}：“{target}”不是 {workflow} v{version} 的阶段（{names}）"
    ),
    # -- reminders: their notes, and why they closed (written in English, shown translated)
    "#{id} {title} returns to pool {pool} within {days} day(s), by {at} (rule {rule}) unless "
    "you follow up": "#{id} {title} 将在 {days} 天内（{at} 前）退回 {pool}（规则 {rule}），除非你跟进",
    "#{id} {title}: more than {days} day(s) in {stage} (since {since})": (
        "#{id} {title}：在 {stage} 阶段已超过 {days} 天（自 {since}）"
    ),
    "#{id} {title} was assigned more than {hours} hour(s) ago ({at}) and not contacted yet": (
        "#{id} {title} 分配已超过 {hours} 小时（{at}），仍未联系"
    ),
    "record archived": "客户已归档",
    "record went back to a pool": "客户已退回公海",
    "record has no owner": "客户没有负责人",
    "record changed owner": "客户换了负责人",
    "record changed hands": "客户已转手",
    "record changed stage": "客户变更了阶段",
    "record was won or lost": "客户已成交或流失",
    "an activity was logged": "已记录跟进",
    "no longer in stage {stage}": "已不在 {stage} 阶段",
    # -- why a record came back to the pool (journal reasons)
    "rule {rule} of pool {pool}": "公海 {pool} 的规则 {rule}",
    "rotated {n} time(s) or no member left who has not held it": "已轮转 {n} 次，或没有未持有过它的成员",
    "more than {days} day(s) in {stage}": "在 {stage} 阶段超过 {days} 天",
    "not contacted within {hours} hour(s)": "{hours} 小时内未联系",
    # -- why (crm record why, the record's Why tab)
    "no workflow is applied to {kind}: nothing is scheduled": "{kind} 没有应用流程：没有计划中的动作",
    "archived: the scheduler leaves it alone": "已归档：调度不再处理它",
    "workflow {workflow} has no assignment section: nobody assigns it": (
        "流程 {workflow} 没有分配设置：没有人分配它"
    ),
    "{rule} (default members)": "{rule}（默认成员）",
    "no rule matches it and there are no default members: it waits": "没有匹配的规则，也没有默认成员：它在等待",
    "{users} can take it: the next assignment pass (the worker, or crm assign) hands it over": (
        "{users} 可以接手：下一轮分配（后台进程或 crm assign）会交给他们"
    ),
    "every member is away, off today or at a cap: it waits": "所有成员都在休假、今天不上班或已达上限：它在等待",
    "{user} may take it from then": "{user} 届时可以接手",
    "until {at:%Y-%m-%d %H:%M}": "至 {at:%Y-%m-%d %H:%M}",
    "works {days}": "工作日 {days}",
    "{n}/{max} open": "未结 {n}/{max}",
    "{n}/{max} received today": "今日已分配 {n}/{max}",
    "{action}, cause {cause}": "{action}，起因 {cause}",
    "{action} by {user}, cause {cause}": "{user} {action}，起因 {cause}",
    "exempt from pool {pool} returns: {rule}": "不会被收回公海 {pool}：{rule}",
    "rotates to {user}, the next member of pool {pool} ({n} of {max})": (
        "轮转给公海 {pool} 的下一位成员 {user}（第 {n}/{max} 次）"
    ),
    "returns to pool {pool}": "退回公海 {pool}",
    "the first pool": "第一个公海",
    "the owner gets a warning task": "负责人收到预警任务",
    "the owner is reminded": "提醒负责人",
    "the owner's manager is told": "通知负责人的经理",
    "{action} runs": "执行 {action}",
    "{event}: {days} day(s) in {stage}": "{event}：在 {stage} 阶段 {days} 天",
    "is reassigned": "重新分配",
    "returns to the pool": "退回公海",
    "{then}: not contacted within {hours} h": "{then}：{hours} 小时内未联系",
    # -- the database and plugins
    "no database at {path}: run `crm init` first": "{path} 没有数据库：请先运行 `crm init`",
    "{value} is not a CRM database yet: run `crm init`": "{value} 还不是 CRM 数据库：请运行 `crm init`",
    "the database is at schema {current}, this crm needs {value}: run `crm db upgrade`": (
        "数据库结构是 {current}，本程序需要 {value}：请运行 `crm db upgrade`"
    ),
    "the tables of plugin '{branch}' are at {value}, this crm needs {head}: run `crm db upgrade`": (
        "插件“{branch}”的表结构是 {value}，本程序需要 {head}：请运行 `crm db upgrade`"
    ),
    "cannot open the database: {orig}": "无法打开数据库：{orig}",
    "the database refused a value: {first_line}": "数据库拒绝了一个值：{first_line}",
    "database error: {error}": "数据库错误：{error}",
    "no plugin named {name} (see crm plugins list)": "没有名为 {name} 的插件（见 crm plugins list）",
    "no plugin named {plugin} (see crm plugins list)": "没有名为 {plugin} 的插件（见 crm plugins list）",
    "no panel '{name}' for {kind}": "{kind} 没有面板“{name}”",
    "no dashboard card '{name}'": "没有仪表盘卡片“{name}”",
    # -- reports
    "no report '{name}' (reports: {known})": "没有报表“{name}”（已有报表：{known}）",
    "report {name} needs --kind KIND": "报表 {name} 需要 --kind 类型",
    "--by {by}: no field '{by}' in {kind}": "--by {by}：{kind} 没有字段“{by}”",
    # -- assignment, conditions and plugin actions
    "no user '{user}': left out": "没有用户“{user}”：已略过",
    "no team '{team}': its rule assigns nobody": "没有团队“{team}”：其规则不会分配给任何人",
    "workflow {wf}: no assignment strategy '{strategy}' ({known})": "流程 {wf}：没有分配策略“{strategy}”（{known}）",
    "condition operator '{name}' is not registered: is its plugin installed and enabled?": (
        "条件运算符“{name}”未注册：其插件是否已安装并启用？"
    ),
    "condition operator '{name}' of plugin '{plugin}' has no SQL form: use it only in transitions' 'when'": (
        "插件“{plugin}”的条件运算符“{name}”没有 SQL 形式：只能用在转换的 when 中"
    ),
    "only a manager or an admin may {what}; {actor} is {role}": "只有经理或管理员可以{what}；{actor} 的角色是 {role}",
    "{what} is {n_text:,} characters long; at most {limit:,}": "{what} 有 {n_text:,} 个字符；最多 {limit:,} 个",
    # -- settings: crm.toml, channels and plugins
    "{file}: {exc}": "{file}：{exc}",
    "crm.toml: [channels] must hold one table per channel": "crm.toml：[channels] 须为每个通道一个表",
    "crm.toml: [plugins] must hold one table per plugin, [plugins.NAME]": (
        "crm.toml：[plugins] 须为每个插件一个表，[plugins.名称]"
    ),
    "{key} must be text, not {value!r}": "{key} 须为文本，而不是 {value!r}",
    "{key} is required": "{key} 必填",
    "{key} must be a number, not {value!r}": "{key} 须为数字，而不是 {value!r}",
    "{key} must be a number above 0, not {value!r}": "{key} 须为大于 0 的数字，而不是 {value!r}",
    "{key} must be true or false, not {value!r}": "{key} 须为 true 或 false，而不是 {value!r}",
    "crm.toml [channels.email]: set ssl or starttls, not both": "crm.toml [channels.email]：ssl 和 starttls 只能设置一个",
    "crm.toml [channels.email] password is required with a username": "crm.toml [channels.email] 设置了用户名时必须设置密码",
    "crm.toml [channels.webhook] url must be http(s)://…, not {url!r}": (
        "crm.toml [channels.webhook] 的 url 须为 http(s)://…，而不是 {url!r}"
    ),
    "crm.toml [plugins.{name}]: no plugin named {name} is installed": "crm.toml [plugins.{name}]：没有安装名为 {name} 的插件",
    "crm.toml [plugins.{name}]: plugin {name} has no settings": "crm.toml [plugins.{name}]：插件 {name} 没有设置项",
    "crm.toml [plugins.{plugin}] {key}: unknown key (known: {known})": (
        "crm.toml [plugins.{plugin}] {key}：未知设置项（已有：{known}）"
    ),
    "{variable}: [plugins.{plugin}] has no key {key} (known: {known})": (
        "{variable}：[plugins.{plugin}] 没有设置项 {key}（已有：{known}）"
    ),
    "{where}: {text!r} is not {what}": "{where}：{text!r} 不是{what}",
    "an integer": "整数",
    "{where}: {text!r} is not true or false": "{where}：{text!r} 不是 true 或 false",
    "crm.toml [plugins.{plugin}] {key}: required; set it there or in {variable}": (
        "crm.toml [plugins.{plugin}] {key}：必填；请在该处或 {variable} 中设置"
    ),
    "{where}: {message}": "{where}：{message}",
    # -- opening the database and its schema
    "cannot open the database {value}: not a database URL (use a SQLite path or postgresql+psycopg://…)": (
        "无法打开数据库 {value}：不是数据库 URL（请用 SQLite 路径或 postgresql+psycopg://…）"
    ),
    "cannot open the database {value}: unknown scheme {backend} (use a SQLite path or postgresql+psycopg://…)": (
        "无法打开数据库 {value}：未知协议 {backend}（请用 SQLite 路径或 postgresql+psycopg://…）"
    ),
    "cannot open the database {label}: no folder {parent}": "无法打开数据库 {label}：没有目录 {parent}",
    "cannot open the database {label}: {reason}": "无法打开数据库 {label}：{reason}",
    "the database has revisions no installed plugin knows ({names}): install or enable the plugin that made them, then run `crm db upgrade`": (
        "数据库中有已安装插件都不认识的版本（{names}）：请安装或启用创建它们的插件，再运行 `crm db upgrade`"
    ),
    "plugin '{plugin}': no alembic revision in {folder}": "插件“{plugin}”：{folder} 中没有 alembic 版本",
    "plugin '{plugin}': revision {revision} ({path}) is not on the plugin's own branch: its first revision needs down_revision = None and branch_labels = ('{plugin}',), and none may depend on a revision outside {folder} (the core is always upgraded first)": (
        "插件“{plugin}”：版本 {revision}（{path}）不在插件自己的分支上：第一个版本需要 down_revision = None 和 "
        "branch_labels = ('{plugin}',)，且任何版本都不能依赖 {folder} 之外的版本（核心总是先升级）"
    ),
    "plugin '{plugin}': its migrations create tables not named {plugin}_…: {names}": (
        "插件“{plugin}”：其迁移创建了不以 {plugin}_ 开头的表：{names}"
    ),
    # -- the command line
    "--lang {lang}: choose en or zh": "--lang {lang}：请选择 en 或 zh",
    "no dashboard file {dashboard}": "没有仪表盘文件 {dashboard}",
    "no user '{actor}'": "没有用户“{actor}”",
    "no user '{owner}'": "没有用户“{owner}”",
    "{path} exists: pass --fresh to replace it, or --db OTHER.db": "{path} 已存在：用 --fresh 替换它，或用 --db 其他.db",
    "--format must be one of {names}, not {fmt}": "--format 须为 {names} 之一，而不是 {fmt}",
    "expected FIELD=VALUE, got {pair}": "需要 字段=值，收到 {pair}",
    "{option}: {text} is not an ISO time like 2026-12-01T09:30": "{option}：{text} 不是 ISO 时间（如 2026-12-01T09:30）",
    "{option}: {text} is not a date like 2026-12-31": "{option}：{text} 不是日期（如 2026-12-31）",
    "--mine and --owner exclude each other": "--mine 和 --owner 不能同时使用",
    "crm bench needs the leads plugin: pip install -e plugins/leads": "crm bench 需要 leads 插件：pip install -e plugins/leads",
    "{db} exists: crm bench builds a fresh database; pick a new path": "{db} 已存在：crm bench 会新建数据库；请换一个路径",
    "plugin name {name!r}: use 1 to 31 lower case letters, digits and underscores, starting with a letter (not core or crm)": (
        "插件名 {name!r}：请用 1 到 31 个小写字母、数字和下划线，以字母开头（不能是 core 或 crm）"
    ),
    "{folder} already exists: choose another folder or remove it": "{folder} 已存在：请换一个目录或删除它",
    # -- the outbox
    "--status must be one of {names}, not {status!r}": "--status 须为 {names} 之一，而不是 {status!r}",
    "--limit must be at least 1": "--limit 至少为 1",
    "give outbox ids or --all-failed (not both)": "请给出发件箱编号或 --all-failed（不能两者都给）",
    "no outbox row {names}": "没有发件箱记录 {names}",
    "outbox #{row_id} is {status}: only failed or sending rows are retried": (
        "发件箱 #{row_id} 的状态是 {status}：只有失败或发送中的记录会重试"
    ),
    # -- reports and dashboards
    "{name}: cannot read: {strerror}": "{name}：无法读取：{strerror}",
    "--param group must be owner or team, not {group}": "--param group 须为 owner 或 team，而不是 {group}",
    "no workflow is applied to {kind}: this report follows its stages": "{kind} 没有应用流程：本报表按流程阶段统计",
    "conversion_by_field needs --by FIELD": "conversion_by_field 需要 --by 字段",
    "--param {name}: {raw} is not a whole number": "--param {name}：{raw} 不是整数",
    # -- import and export
    "give KIND FILE, or one import spec ending in .yaml or .yml": "请给出 类型 文件，或一个以 .yaml 或 .yml 结尾的导入说明",
    "--atomic goes with an import spec (bundle.yaml), not KIND FILE": "--atomic 只能与导入说明（bundle.yaml）一起用，不能与 类型 文件 一起用",
    "--all exports every kind to its folder: drop KIND, --format, --out": "--all 会把每个类型导出到目录：请去掉 类型、--format、--out",
    "give the KIND to export, or --all DIR for everything": "请给出要导出的类型，或用 --all 目录 导出全部",
    "--force goes with --all DIR": "--force 只能与 --all 目录 一起用",
    "only an admin or a manager may import records; {actor} is {role}": "只有管理员或经理可以导入客户；{actor} 的角色是 {role}",
    "--on-duplicate must be skip, merge or refuse, not {on_duplicate}": "--on-duplicate 须为 skip、merge 或 refuse，而不是 {on_duplicate}",
    "--errors must name another file than the one imported": "--errors 须指向与导入文件不同的文件",
    "give --owner or leave the owners to the rules (--auto-assign), not both": "请给出 --owner 或把负责人交给规则（--auto-assign），不能两者都要",
    "another user added a record with the same dedupe key while this batch was written; run the import again (rows already imported are found as duplicates)": (
        "写入本批时另一用户添加了去重键相同的客户；请重新导入（已导入的行会被识别为重复）"
    ),
    "--batch must be at least 1, not {batch_size}": "--batch 至少为 1，而不是 {batch_size}",
    "{name}: lines {lines} collide: {reason}": "{name}：第 {lines} 行冲突：{reason}",
    "{name}: cannot read the import spec: {exc}": "{name}：无法读取导入说明：{exc}",
    "cannot tell the format of {path} from its extension (.csv, .jsonl, .ndjson): pass --format csv or --format jsonl": (
        "无法从扩展名判断 {path} 的格式（.csv、.jsonl、.ndjson）：请用 --format csv 或 --format jsonl"
    ),
    "no file {path}": "没有文件 {path}",
    "{path} is empty: a CSV file starts with a header row": "{path} 是空的：CSV 文件须以标题行开头",
    "{name} is empty: a CSV file starts with a header row": "{name} 是空的：CSV 文件须以标题行开头",
    "{path}: column(s) {names} appear twice": "{path}：列 {names} 出现了两次",
    "{name}: column(s) {value} appear twice": "{name}：列 {value} 出现了两次",
    "{path} line 1: {exc}": "{path} 第 1 行：{exc}",
    "{path} line {line}: {exc}": "{path} 第 {line} 行：{exc}",
    "{name} line 1: {value}": "{name} 第 1 行：{value}",
    "{name} line {line}: {value}": "{name} 第 {line} 行：{value}",
    "{name}: {value}": "{name}：{value}",
    "--map expects COLUMN=FIELD (or COLUMN=- to ignore), got {pair}": "--map 需要 列=字段（或 列=- 忽略），收到 {pair}",
    "--map maps column '{column}' twice: to '{value}' and '{target}'": "--map 把列“{column}”映射了两次：到“{value}”和“{target}”",
    "--map names column(s) {names} that {file_name} lacks (it has: {listed})": (
        "--map 提到的列 {names} 在 {file_name} 中不存在（已有：{listed}）"
    ),
    "--map {text}: {kind} has no such field (fields: {names}; or {names2}, or - to ignore the column)": (
        "--map {text}：{kind} 没有该字段（字段：{names}；或 {names2}，或用 - 忽略该列）"
    ),
    "{file_name}: unknown column(s) {names} for {kind} (fields: {names2}; also {names3}); rename with --map COLUMN=FIELD or ignore with --map COLUMN=-": (
        "{file_name}：{kind} 的未知列 {names}（字段：{names2}；另有 {names3}）；"
        "用 --map 列=字段 改名，或用 --map 列=- 忽略"
    ),
    "{file_name}: two columns fill the same field: {text} (ignore one with --map COLUMN=-)": (
        "{file_name}：两列填写同一字段：{text}（用 --map 列=- 忽略其中一列）"
    ),
    "--encoding: unknown text encoding {name} (e.g. {names})": "--encoding：未知文本编码 {name}（例如 {names}）",
    "{where}; it looks like GB18030 (Chinese spreadsheet export): use --encoding gb18030": (
        "{where}；看起来是 GB18030（中文表格导出）：请用 --encoding gb18030"
    ),
    "{where} ({reason}): name the file's encoding with --encoding": "{where}（{reason}）：请用 --encoding 指定文件编码",
    "{folder} is a file: --all needs a folder": "{folder} 是文件：--all 需要目录",
    "{folder} is not empty: choose an empty folder or add --force": "{folder} 不是空的：请选择空目录或加 --force",
    "cannot create {folder}: {strerror}": "无法创建 {folder}：{strerror}",
    "cannot write {path}: {error}": "无法写入 {path}：{error}",
    "cannot write {path}: {strerror}": "无法写入 {path}：{strerror}",
    "live records of kind {value}, which no enabled plugin declares: enable its plugin to export them": (
        "有类型为 {value} 的客户，但没有已启用的插件声明该类型：请启用其插件后再导出"
    ),
    "--format must be csv or jsonl, not {fmt}": "--format 须为 csv 或 jsonl，而不是 {fmt}",
    # -- workflow files (crm workflow validate, the Team screen's v)
    "cannot read: {error}": "无法读取：{error}",
    "a workflow file is a mapping": "流程文件须为映射（键: 值）",
    "stage '{id}' twice": "阶段“{id}”重复",
    "a lost stage needs lost_reasons": "流失阶段需要 lost_reasons",
    "pool '{pool_id}' twice": "公海“{pool_id}”重复",
    "unknown stage '{stage}' (stages: {stages})": "未知阶段“{stage}”（已有阶段：{stages}）",
    "no assignment strategy '{name}' (known: {known})": "没有分配策略“{name}”（已有：{known}）",
    "user '{user}' is listed twice": "用户“{user}”重复列出",
    "unknown pool '{pool}'": "未知公海“{pool}”",
    "return_to_pool needs a pool": "return_to_pool 需要指定公海",
    "condition operator '{name}' of plugin '{plugin}' has no SQL form: assignment rules and pool sweeps run in SQL; use it in transitions' when": (
        "插件“{plugin}”的条件运算符“{name}”没有 SQL 形式：分配规则和公海回收用 SQL 执行；请只在转换的 when 中使用"
    ),
    "no kind '{kind}' (known: {known})": "没有类型“{kind}”（已有：{known}）",
    "no field '{name}' in {kind} ({known_fields})": "{kind} 没有字段“{name}”（{known_fields}）",
    "stage '{stage}' cannot be reached from '{first}'": "从“{first}”无法到达阶段“{stage}”",
    "stage '{stage}' can never reach {what}": "阶段“{stage}”永远到不了{what}",
    "an outcome ({named})": "结果阶段（{named}）",
    "no stage has outcome: won or lost": "没有阶段设置 outcome: won 或 lost",
    "same condition as rules[{first}], which always wins: this rule never fires": (
        "与 rules[{first}] 条件相同，而它总是先匹配：这条规则永远不会生效"
    ),
    # conditions
    "a condition is a mapping such as {field: budget, gte: 1000}": "条件须为映射，例如 {field: budget, gte: 1000}",
    "unexpected key '{key}' here": "此处不应有键“{key}”",
    "'{op}' compares with a number, not {value!r}": "“{op}”须与数字比较，而不是 {value!r}",
    "'in' needs a non-empty list": "“in”需要非空列表",
    "'exists' is true or false": "“exists”须为 true 或 false",
    "'{op}: null' is not allowed; use 'exists: false'": "不允许“{op}: null”；请用“exists: false”",
    "'{key}' needs a non-empty list of conditions": "“{key}”需要非空的条件列表",
    "'field' names a field": "“field”须为字段名",
    "a field test needs exactly one of {names}": "字段条件须且只能有 {names} 之一",
    "'stage' is a stage id or a list of them": "“stage”须为阶段编号或其列表",
    "'days_since' is one of {names}": "“days_since”须为 {names} 之一",
    "'days_since' needs exactly one of {names}": "“days_since”须且只能有 {names} 之一",
    "operator, manager, admin or none": "须为 operator、manager、admin 或 none",
    "'activities' takes type, min and max": "“activities”接受 type、min 和 max",
    "unknown condition {cond}; use one of {known}{extra}": "未知条件 {cond}；请用 {known}{extra} 之一",
    "a whole number >= 0": "须为大于等于 0 的整数",
    # empty dashboard cards
    "No {noun} yet.": "还没有{noun}。",
    "No {noun} visible to you ({count} exist).": "你看不到任何{noun}（共有 {count} 条）。",
    "No {noun} in your scope (yours or your pools').": "你的范围内（你的或你公海里的）没有{noun}。",
    # saved filters, undo, snooze
    "a saved filter needs a name": "保存的筛选需要名称",
    "a filter name is at most {max} characters": "筛选名称最多 {max} 个字符",
    "a filter cannot hold {unknown}; it holds {keys}": "筛选不能包含 {unknown}；只能包含 {keys}",
    "filter {key}: {value} must be a text": "筛选 {key}：{value} 须为文本",
    "a saved filter names the kind it lists": "保存的筛选须指明所列的类型",
    "you have {max} saved filters: delete one first": "你已有 {max} 个保存的筛选：请先删除一个",
    "you have no saved filter {name}": "你没有名为 {name} 的保存筛选",
    "an undo needs the fields, title or stage to put back": "撤销需要给出要恢复的字段、名称或阶段",
    "record #{record_id} changed since (version {now}, not {version}): someone else edited it, so nothing was undone": (
        "客户 #{record_id} 之后已被修改（版本 {now}，不是 {version}）：有人编辑过，所以没有撤销任何内容"
    ),
    "no stage '{stage}' in the workflow of {kind}": "{kind} 的流程中没有阶段“{stage}”",
    "record #{record_id} already has those values: nothing to undo": "客户 #{record_id} 已是这些值：无需撤销",
    "task #{task_id} is not {name}'s": "任务 #{task_id} 不属于 {name}",
    "task #{task_id} is done: there is nothing to snooze": "任务 #{task_id} 已完成：无需推迟",
    "a snooze time needs its time zone": "推迟时间需要带时区",
    "snooze until a later time than now ({now})": "请推迟到晚于现在（{now}）的时间",
    # connections, bench and soak
    "process must be one of {known}, not {process}": "进程类型须为 {known} 之一，而不是 {process}",
    "the database took longer than {seconds} s to answer; try again or narrow the search": (
        "数据库超过 {seconds} 秒未响应；请重试或缩小搜索范围"
    ),
    "{database} is not a PostgreSQL server URL (postgresql+psycopg://USER@HOST/DB)": (
        "{database} 不是 PostgreSQL 服务器地址（postgresql+psycopg://用户@主机/数据库）"
    ),
    "cannot create a database on {database}: {reason}": "无法在 {database} 上创建数据库：{reason}",
    "--soak needs --db postgresql+psycopg://USER@HOST/DB (a server)": (
        "--soak 需要 --db postgresql+psycopg://用户@主机/数据库（一台服务器）"
    ),
}
