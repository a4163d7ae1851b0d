# ruff: noqa: E501 (a translation stays on one line, beside its English)
"""The B2B accounts plugin's messages in Chinese: English message id → translation (slots kept)."""

MESSAGES: dict[str, str] = {
    # record checks and deal motions
    "deal(s) {ids} are already cross-sell deals": "商机 {ids} 已经是交叉销售商机",
    "cannot be cleared while the account is in {stage}": "企业客户处于 {stage} 阶段时不能清除",
    "motion must be one of {names}, not {motion!r}": "销售方式须为 {names} 之一，而不是 {motion!r}",
    "deal #{deal_id} is not a deal of account #{account_id}": "商机 #{deal_id} 不属于企业客户 #{account_id}",
    # the product catalogue and deal lines
    "{what} {value!r} is not a number": "{what} {value!r} 不是数字",
    "{what} {value!r} must be >= 0 with at most two decimals": "{what} {value!r} 须大于等于 0 且最多两位小数",
    "{what} {value!r} is too large": "{what} {value!r} 太大",
    "a product needs a {what}": "产品需要 {what}",
    "a product's {what} is {length:,} characters long; at most 200": (
        "产品的 {what} 有 {length:,} 个字符；最多 200 个"
    ),
    "currency must be a three-letter code, not {value!r}": "币种须为三个字母的代码，而不是 {value!r}",
    "no product {value!r} (see crm b2b product list)": "没有产品 {value!r}（见 crm b2b product list）",
    "a product with {column} {value!r} already exists": "{column} 为 {value!r} 的产品已存在",
    "nothing to change: give a name, code, series, price or active": (
        "没有要修改的内容：请给出名称、编码、系列、价格或启用状态"
    ),
    "product {product!r} already has these values": "产品 {product!r} 已经是这些值",
    "quantity must be at least 1, not {quantity}": "数量至少为 1，而不是 {quantity}",
    "product {product!r} is inactive": "产品 {product!r} 已停用",
    "product {product!r} has no list price: give --unit-price": "产品 {product!r} 没有标价：请给出 --unit-price",
    "product {product!r} is priced in {currency}, deal #{deal_id} in {currency2}": (
        "产品 {product!r} 以 {currency} 计价，商机 #{deal_id} 以 {currency2} 计价"
    ),
    "{quantity} x {value} is too large": "{quantity} x {value} 太大",
    "deal #{deal_id}'s lines would sum to more than the largest amount": "商机 #{deal_id} 的明细合计将超过金额上限",
    "no deal line #{line_id}": "没有商机明细 #{line_id}",
    # reports
    "no workflow is applied to {value}: this report weighs deals by its stages' probabilities "
    "(crm workflow apply workflows/b2b_sales.yaml)": (
        "{value} 没有应用流程：本报表按流程各阶段的赢率加权商机"
        "（crm workflow apply workflows/b2b_sales.yaml）"
    ),
    "the deals use several currencies ({names}): choose one with --param currency=CODE": (
        "商机使用了多种币种（{names}）：请用 --param currency=代码 选择一种"
    ),
    "--param currency: {wanted!r} is not a three-letter code": "--param currency：{wanted!r} 不是三个字母的代码",
    "--param group must be one of {names}": "--param group 须为 {names} 之一",
    "--param group must be one of {names}, not {group!r}": "--param group 须为 {names} 之一，而不是 {group!r}",
    "--param class must be A, B, C or none": "--param class 须为 A、B、C 或 none",
    "--param segment: {segment_field!r} is not a field name": "--param segment：{segment_field!r} 不是字段名",
    "need few < many and margin_low <= margin_high": "需要 few < many 且 margin_low <= margin_high",
    "--param {name}: {raw!r} is not a number": "--param {name}：{raw!r} 不是数字",
    "--param {name}: {raw!r} is not between 0 and 1": "--param {name}：{raw!r} 不在 0 到 1 之间",
    # the value panel
    "[b]Class {klass}[/b] by won revenue ({currency})": "[b]{klass} 类[/b]（按成交收入，{currency}）",
    "[b]No class yet[/b]: no won revenue": "[b]暂无分类[/b]：还没有成交收入",
    "Won: {won}   Open pipeline: {pipeline}": "已成交：{won}   在途商机：{pipeline}",
    "Deals: {n} ({new} new business, {cross_sell} cross-sell, {up_sell} up-sell)": (
        "商机：{n} 个（新业务 {new}，交叉销售 {cross_sell}，追加销售 {up_sell}）"
    ),
    "Gross margin: {margin:.0%}": "毛利率：{margin:.0%}",
    "[yellow]Key account[/yellow]: never returned to the pool": "[yellow]大客户[/yellow]：不会退回公海",
    # the pipeline card
    "accounts": "企业客户",
    "No open deals.": "没有在途商机。",
    "amounts in {currency}; total: {n} open deals, {amount}, weighted {weighted}": (
        "金额单位 {currency}；合计：在途商机 {n} 个，{amount}，加权 {weighted}"
    ),
    "{n} deal(s) without a stage probability weigh 0": "{n} 个商机所在阶段没有赢率，按 0 计",
    "{stage:<12} {deals:>4} deals  {amount:>12}  weighted [b]{weighted:>12}[/b]": (
        "{stage:<12} {deals:>4} 个商机  {amount:>12}  加权 [b]{weighted:>12}[/b]"
    ),
    "[b]Weighted pipeline: {total:,.2f}[/b]": "[b]加权商机合计：{total:,.2f}[/b]",
}
