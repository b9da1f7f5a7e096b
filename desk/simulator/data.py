"""Realistic content for the simulated platform: shops, products, buyers, questions, reasons.

Everything a merchant's customer-service team would see in a day on a Channels store: Chinese
product titles with SKUs and prices in fen, buyers with masked names, phones and addresses, the
questions buyers ask during a live stream, and the platform's after-sale and reject reasons.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = [
    "AFTERSALE_DESCRIPTIONS",
    "AFTERSALE_REASONS",
    "AFTERSALE_REASON_CODES",
    "AVATAR",
    "CATEGORIES",
    "CORP_NAMES",
    "COURIERS",
    "DETAIL_ROADS",
    "ESTATES",
    "GENERAL_CATEGORY",
    "GENERAL_LABEL",
    "GIVEN_NAME_CHARS",
    "KF_QUESTIONS",
    "NICKNAMES",
    "ORDER_SCENES",
    "PHONE_PREFIXES",
    "PRESALE_QUESTIONS",
    "QUESTIONS_ABOUT_ORDER",
    "REGIONS",
    "REJECT_REASONS",
    "STORE_NAMES",
    "SURNAMES",
    "CatalogItem",
    "StoreCategory",
]

STORE_NAMES: Final = (
    "山野茶铺",
    "简衣社女装",
    "小熊家居生活馆",
    "鲜果时光",
    "暖暖母婴优选",
    "东北老字号特产",
)
CORP_NAMES: Final = ("山野好物集团", "暖暖品牌管理")

AVATAR: Final = "https://wx.qlogo.cn/mmhead/Q3auHgzwzM5simavatar/0"

# (title, [(sku attributes, price in fen)]). Live-stream stores sell a few hero products.
CatalogItem = tuple[str, tuple[tuple[str, int], ...]]


class StoreCategory(NamedTuple):
    """What one kind of store sells, and what its buyers ask before buying."""

    label: str
    """The category as the merchant's backend names it (each product's category)."""
    keywords: tuple[str, ...]
    """Words in a store's name that say it sells this (女装 → fashion)."""
    products: tuple[CatalogItem, ...]
    questions: tuple[str, ...]
    """Pre-sale questions its buyers ask, besides everyone's :data:`PRESALE_QUESTIONS`."""


# In the order a store's name is matched against the keywords: the first category with a keyword
# in the name wins (so 童装 is a baby store, 山野茶铺 a tea shop).
CATEGORIES: Final[dict[str, StoreCategory]] = {
    "baby": StoreCategory(
        label="母婴",
        keywords=("母婴", "萌宝", "宝宝", "婴", "童", "孕"),
        products=(
            (
                "婴儿纯棉纱布浴巾 新生儿包被 6层",
                (("颜色:小熊;规格:110×110cm", 5900), ("颜色:星星;规格:110×110cm", 5900)),
            ),
            ("儿童有机米粉 高铁营养米糊 225g", (("规格:原味", 6800), ("规格:南瓜味", 6800))),
            (
                "婴儿纸尿裤 超薄透气 拉拉裤",
                (("规格:NB码84片", 12900), ("规格:M码64片", 12900), ("规格:L码54片", 12900)),
            ),
            ("宽口径PPSU奶瓶 新生儿防胀气", (("规格:160ml", 11900), ("规格:240ml", 12900))),
            ("婴儿手口湿巾 80抽×10包", (("规格:80抽×10包", 5990), ("规格:80抽×20包", 10990))),
            (
                "新生儿连体衣 纯棉和尚服 春秋款",
                (("颜色:奶白;尺码:59cm", 7900), ("颜色:浅黄;尺码:66cm", 7900), ("颜色:浅蓝;尺码:73cm", 7900)),
            ),
            ("轻便婴儿推车 可坐可躺 一键收车", (("颜色:雅灰", 89900), ("颜色:奶咖", 89900))),
            ("孕妇叶酸片 备孕孕期营养 60片", (("规格:60片", 9800), ("规格:60片×3瓶", 26800))),
        ),
        questions=(
            "几个月的宝宝能用",
            "新生儿用哪个码",
            "孕妇可以用吗",
            "奶瓶可以高温消毒吗",
            "有没有荧光剂",
        ),
    ),
    "fashion": StoreCategory(
        label="女装",
        keywords=("女装", "服饰", "衣", "裙", "时装"),
        products=(
            (
                "春季新款宽松显瘦纯棉卫衣女 韩版百搭上衣",
                (("颜色:燕麦色;尺码:S", 8900), ("颜色:燕麦色;尺码:M", 8900), ("颜色:雾霾蓝;尺码:L", 8900)),
            ),
            (
                "高腰阔腿牛仔裤女 垂感直筒显瘦拖地裤",
                (("颜色:浅蓝;尺码:26", 12900), ("颜色:浅蓝;尺码:27", 12900), ("颜色:黑色;尺码:28", 12900)),
            ),
            (
                "法式碎花连衣裙 收腰显瘦气质长裙",
                (("颜色:蓝色碎花;尺码:M", 15900), ("颜色:黄色碎花;尺码:L", 15900)),
            ),
            (
                "冰丝防晒开衫女 夏季薄款长袖外搭",
                (("颜色:白色;尺码:均码", 6900), ("颜色:浅粉;尺码:均码", 6900)),
            ),
            (
                "小香风粗花呢短外套女 秋冬新款",
                (("颜色:米白;尺码:S", 25900), ("颜色:米白;尺码:M", 25900), ("颜色:黑色;尺码:L", 25900)),
            ),
            (
                "羊毛混纺针织开衫女 慵懒风毛衣",
                (("颜色:燕麦;尺码:均码", 13900), ("颜色:灰蓝;尺码:均码", 13900)),
            ),
            ("冰丝垂感西装裤女 高腰九分直筒裤", (("颜色:黑色;尺码:S", 9900), ("颜色:灰色;尺码:M", 9900))),
            ("真丝印花衬衫女 桑蚕丝长袖上衣", (("颜色:墨绿;尺码:M", 39900), ("颜色:杏色;尺码:L", 39900))),
        ),
        questions=("尺码偏大还是偏小？", "165斤穿什么码", "会起球吗", "这个颜色显黑吗", "洗了会缩水吗"),
    ),
    "outdoor": StoreCategory(
        label="户外",
        keywords=("户外", "露营", "登山", "徒步", "运动", "骑行", "垂钓"),
        products=(
            (
                "三合一冲锋衣男女款 防水防风 可拆卸抓绒内胆",
                (("颜色:黑色;尺码:L", 49900), ("颜色:雾霾蓝;尺码:M", 49900), ("颜色:军绿;尺码:XL", 49900)),
            ),
            ("自动速开帐篷 户外露营防雨加厚", (("规格:3-4人双层", 39900), ("规格:5-8人六角", 69900))),
            ("碳素超轻登山杖 伸缩折叠", (("规格:单支", 12900), ("规格:两支装", 23900))),
            ("户外折叠月亮椅 露营便携钓鱼椅", (("颜色:沙色", 8900), ("颜色:墨绿", 8900))),
            (
                "中帮防水登山鞋 防滑耐磨徒步鞋",
                (("颜色:灰色;尺码:39", 45900), ("颜色:灰色;尺码:42", 45900), ("颜色:卡其;尺码:37", 45900)),
            ),
            ("户外速干T恤 短袖冰丝运动上衣", (("颜色:白色;尺码:M", 7900), ("颜色:藏青;尺码:L", 7900))),
            ("40L登山包 双肩背负透气 徒步背包", (("颜色:橙色", 35900), ("颜色:黑色", 35900))),
            ("露营卡式炉 户外便携野餐锅具", (("规格:单炉", 15900), ("规格:炉具+套锅", 26900))),
        ),
        questions=(
            "冲锋衣防水等级多少",
            "帐篷几个人能睡下",
            "鞋子偏码吗，平时穿42",
            "冬天爬雪山够保暖吗",
            "有多重，好背吗",
        ),
    ),
    "tea": StoreCategory(
        label="茶叶",
        keywords=("茶",),
        products=(
            (
                "【直播专享】云南古树普洱茶熟茶 357g七子饼 2019年陈料",
                (("规格:357g单饼", 16800), ("规格:357g×2饼礼盒", 32900)),
            ),
            ("福鼎白茶老白茶 寿眉饼 350g 日晒茶", (("规格:350g", 12900), ("规格:350g×3饼", 35800))),
            ("明前特级西湖龙井 250g 罐装 新茶", (("规格:250g罐装", 26800), ("规格:125g尝鲜装", 13900))),
            ("武夷山大红袍 岩茶 礼盒装", (("规格:250g礼盒", 19800), ("规格:500g礼盒", 36800))),
            ("安溪铁观音 清香型 新茶", (("规格:250g", 8800), ("规格:500g", 15800))),
            ("云南滇红 金芽红茶 200g 罐装", (("规格:200g罐装", 12800), ("规格:200g×2罐", 23800))),
            ("横县茉莉花茶 飘雪 袋装", (("规格:250g", 6800), ("规格:500g", 12800))),
        ),
        questions=("这个茶是今年的吗", "能泡几泡", "怎么储存", "送人有礼盒装吗"),
    ),
    "home": StoreCategory(
        label="家居",
        keywords=("家居", "家纺", "生活馆", "日用", "厨"),
        products=(
            (
                "加厚珊瑚绒四件套 冬季保暖 床单被套",
                (("颜色:奶白;规格:1.5m床", 19900), ("颜色:雾粉;规格:1.8m床", 22900)),
            ),
            ("日式陶瓷餐具套装 家用碗碟 20件套", (("颜色:釉下彩青", 16900), ("颜色:米白", 15900))),
            ("大容量收纳箱 加厚塑料整理箱 3个装", (("规格:55L×3", 6990), ("规格:80L×3", 8990))),
            ("记忆棉枕头 慢回弹护颈枕", (("规格:单只", 12900), ("规格:一对", 23900))),
            ("A类纯棉加厚毛巾 4条装", (("颜色:混色", 4990), ("颜色:纯白", 4990))),
            ("北欧落地灯 客厅卧室氛围灯", (("颜色:白色", 19900), ("颜色:黑色", 19900))),
            ("硅藻泥浴室吸水地垫 防滑速干", (("规格:40×60cm", 3990), ("规格:50×80cm", 5990))),
        ),
        questions=("尺寸多大", "能机洗吗", "有异味吗", "颜色和图片一样吗"),
    ),
    "fresh": StoreCategory(
        label="生鲜",
        keywords=("生鲜", "鲜", "果", "农场"),
        products=(
            ("海南贵妃芒果 新鲜当季水果 5斤装", (("规格:5斤中果", 3990), ("规格:5斤大果", 4990))),
            ("智利进口车厘子 JJ级 2斤礼盒", (("规格:JJ级2斤", 12800), ("规格:JJJ级2斤", 15800))),
            ("阳光玫瑰青提 新鲜葡萄", (("规格:2斤", 5990), ("规格:4斤", 10900))),
            ("赣南脐橙 当季现摘 10斤装", (("规格:10斤中果", 4590), ("规格:10斤大果", 5990))),
            ("丹东红颜奶油草莓 礼盒装", (("规格:3斤礼盒", 12900), ("规格:5斤礼盒", 19900))),
            ("四川爱媛38号果冻橙", (("规格:5斤", 3990), ("规格:9斤", 6990))),
            ("新疆阿克苏冰糖心苹果 10斤装", (("规格:10斤中果", 4990), ("规格:10斤大果", 6490))),
        ),
        questions=("坏果包赔吗", "几天能到，路上会坏吗", "甜不甜", "是现摘现发的吗"),
    ),
    "specialty": StoreCategory(
        label="特产",
        keywords=("特产", "老字号", "土特"),
        products=(
            ("东北五常稻花香大米 当季新米", (("规格:5kg", 5990), ("规格:10kg", 10900))),
            ("哈尔滨红肠 正宗老字号", (("规格:500g×2", 5900), ("规格:500g×4", 10900))),
            ("东北黑木耳 秋耳 肉厚无根", (("规格:250g", 3990), ("规格:500g", 6990))),
            ("长白山开口松子 当季新货", (("规格:500g", 8900), ("规格:1000g", 16900))),
            ("东北手工黏豆包 农家蒸制", (("规格:20个装", 3990), ("规格:40个装", 6990))),
            ("东北大榛子 原味 颗颗饱满", (("规格:500g", 5990), ("规格:1000g", 10900))),
        ),
        questions=("需要冷藏吗", "是正宗东北的吗", "能寄到南方吗", "能做成礼盒吗"),
    ),
    "beauty": StoreCategory(
        label="美妆",
        keywords=("美妆", "护肤", "彩妆", "化妆"),
        products=(
            ("玻尿酸补水保湿面膜 20片装", (("规格:20片", 9900), ("规格:40片", 17900))),
            ("氨基酸洁面乳 温和控油 120g", (("规格:120g", 6900), ("规格:120g×2", 12900))),
            ("烟酰胺亮肤精华液 30ml", (("规格:30ml", 15900), ("规格:30ml×2", 29900))),
            ("哑光丝绒口红 显白不拔干", (("色号:01正红", 12900), ("色号:05豆沙", 12900))),
            ("清透防晒霜 SPF50+ 50ml", (("规格:50ml", 9900), ("规格:50ml×2", 18900))),
            ("玻尿酸补水爽肤水 200ml", (("规格:200ml", 8900), ("规格:200ml×2", 16900))),
        ),
        questions=("敏感肌能用吗", "孕妇可以用吗", "保质期到什么时候", "是正品吗"),
    ),
}
GENERAL_CATEGORY: Final = "general"
"""A store whose name says nothing of what it sells: a bit of everything (百货)."""
GENERAL_LABEL: Final = "百货"

SURNAMES: Final = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_NAME_CHARS: Final = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华玉兰萍红梅鑫晓欣宇浩然子涵梓萱思雨一诺佳怡俊"
)

NICKNAMES: Final = (
    "小鱼儿",
    "向日葵🌻",
    "Lily",
    "阿杰",
    "快乐每一天",
    "岁月静好",
    "晴天",
    "🍀幸运草",
    "木子李",
    "Kevin",
    "暖阳",
    "花开富贵",
    "小确幸",
    "老张",
    "宝妈小王",
    "追风少年",
    "一杯清茶",
    "Amy🌸",
    "平安是福",
    "静待花开",
)

# (province, city, [counties], postal code prefix)
REGIONS: Final[tuple[tuple[str, str, tuple[str, ...], str], ...]] = (
    ("广东省", "广州市", ("天河区", "海珠区", "白云区", "番禺区"), "510"),
    ("广东省", "深圳市", ("南山区", "福田区", "宝安区", "龙岗区"), "518"),
    ("浙江省", "杭州市", ("西湖区", "余杭区", "拱墅区", "滨江区"), "310"),
    ("江苏省", "南京市", ("鼓楼区", "玄武区", "江宁区"), "210"),
    ("江苏省", "苏州市", ("吴中区", "姑苏区", "工业园区"), "215"),
    ("上海市", "上海市", ("浦东新区", "徐汇区", "闵行区", "静安区"), "200"),
    ("北京市", "北京市", ("朝阳区", "海淀区", "丰台区", "通州区"), "100"),
    ("四川省", "成都市", ("武侯区", "锦江区", "高新区", "双流区"), "610"),
    ("湖北省", "武汉市", ("洪山区", "武昌区", "江汉区"), "430"),
    ("山东省", "青岛市", ("市南区", "崂山区", "黄岛区"), "266"),
    ("河南省", "郑州市", ("金水区", "二七区", "中原区"), "450"),
    ("湖南省", "长沙市", ("岳麓区", "天心区", "雨花区"), "410"),
    ("福建省", "厦门市", ("思明区", "湖里区", "集美区"), "361"),
    ("陕西省", "西安市", ("雁塔区", "碑林区", "未央区"), "710"),
    ("辽宁省", "沈阳市", ("和平区", "沈河区", "浑南区"), "110"),
    ("重庆市", "重庆市", ("渝北区", "江北区", "南岸区"), "400"),
    ("云南省", "昆明市", ("五华区", "盘龙区", "官渡区"), "650"),
    ("黑龙江省", "哈尔滨市", ("南岗区", "道里区", "香坊区"), "150"),
)
DETAIL_ROADS: Final = (
    "建设路",
    "人民路",
    "解放大道",
    "中山路",
    "文化路",
    "长江路",
    "科技园南路",
    "新华街",
    "和平路",
    "学府路",
)
ESTATES: Final = (
    "阳光花园",
    "碧桂园",
    "万科城",
    "绿地中心",
    "保利香槟国际",
    "翠湖小区",
    "锦绣家园",
    "金地名京",
    "恒大绿洲",
)
PHONE_PREFIXES: Final = (
    "130",
    "131",
    "135",
    "136",
    "138",
    "139",
    "150",
    "152",
    "158",
    "159",
    "176",
    "177",
    "183",
    "186",
    "188",
    "199",
)

# (delivery_id, name, waybill prefix)
COURIERS: Final = (
    ("SF", "顺丰速运", "SF"),
    ("YTO", "圆通速递", "YT"),
    ("ZTO", "中通快递", "7"),
    ("YD", "韵达快递", "43"),
    ("STO", "申通快递", "77"),
    ("JTSD", "极兔速递", "JT"),
    ("EMS", "中国邮政EMS", "98"),
)

# order_scene [U]: the values below are reported by merchants, not documented.
ORDER_SCENES: Final = {1: "其他", 2: "直播间", 3: "短视频", 4: "商品分享", 5: "商品橱窗", 6: "公众号文章"}

# after-sale reason (legacy string enum) → reason_text [V]
AFTERSALE_REASONS: Final = {
    "INCORRECT_SELECTION": "拍错/多拍",
    "NO_LONGER_WANT": "不想要了",
    "NO_EXPRESS_INFO": "无快递信息",
    "EMPTY_PACKAGE": "包裹为空",
    "REJECT_RECEIVE_PACKAGE": "已拒签包裹",
    "NOT_DELIVERED_TOO_LONG": "快递长时间未送达",
    "NOT_MATCH_PRODUCT_DESC": "与商品描述不符",
    "QUALITY_ISSUE": "质量问题",
    "SEND_WRONG_GOODS": "卖家发错货",
    "THREE_NO_PRODUCT": "三无产品",
    "FAKE_PRODUCT": "假冒产品",
    "NO_REASON_7_DAYS": "七天无理由",
    "OTHERS": "其它",
}
# aftersale/reason/get answers with integer codes [V shape, U values]: the order above, from 1.
AFTERSALE_REASON_CODES: Final = {name: n for n, name in enumerate(AFTERSALE_REASONS, start=1)}

# What a buyer writes in the after-sale form, per reason.
AFTERSALE_DESCRIPTIONS: Final = {
    "INCORRECT_SELECTION": ("拍错颜色了", "多拍了一件", "尺码拍错了，麻烦退一下"),
    "NO_LONGER_WANT": ("不想要了", "家里已经有了", "买重复了"),
    "NO_EXPRESS_INFO": ("三天了还没有物流信息",),
    "EMPTY_PACKAGE": ("打开是空盒子！",),
    "REJECT_RECEIVE_PACKAGE": ("外箱破损，已拒收",),
    "NOT_DELIVERED_TOO_LONG": ("一个星期了还没到",),
    "NOT_MATCH_PRODUCT_DESC": ("颜色和直播间看到的差很多", "和描述的不一样"),
    "QUALITY_ISSUE": ("收到有破损", "开线了", "有异味", "漏了一地"),
    "SEND_WRONG_GOODS": ("发错颜色了", "收到的不是我买的规格"),
    "THREE_NO_PRODUCT": ("包装上没有生产日期",),
    "FAKE_PRODUCT": ("怀疑不是正品",),
    "NO_REASON_7_DAYS": ("七天无理由退货",),
    "OTHERS": ("其他原因",),
}

# aftersale/rejectreason/get [V shape; U texts]: (type, type text, default description, scene)
# reject_scene 1 refund-only, 4 return-refund, 5 exchange.
REJECT_REASONS: Final = (
    (1, "商品已发货", "商品已发出，请收到货后再申请退货退款", 1),
    (2, "买家与商家协商一致不退款", "已与买家协商一致，不予退款", 1),
    (3, "申请金额有误", "申请退款金额与实际不符，请修改后重新申请", 1),
    (4, "未收到退货商品", "尚未收到买家退回的商品", 4),
    (5, "退回商品影响二次销售", "退回商品已使用/吊牌已拆，影响二次销售", 4),
    (6, "退回商品与售出商品不符", "收到的退货不是本店售出的商品", 4),
    (7, "买家未提供有效凭证", "请上传商品问题的照片或视频", 4),
    (8, "换货商品无库存", "所换规格暂无库存，建议申请退货退款", 5),
    (9, "其他", "其他原因", 1),
)

# What buyers ask — before buying, about an order, and to a WeCom 微信客服 account.
PRESALE_QUESTIONS: Final = (
    "直播间说的优惠券在哪里领",
    "有赠品吗",
    "发什么快递？",
    "可以开发票吗",
    "保质期多久",
    "能便宜点吗",
)
"""What buyers of any store ask before buying; each category adds its own (``StoreCategory.questions``)."""
QUESTIONS_ABOUT_ORDER: Final = (
    "什么时候发货",
    "什么时候发货？着急用",
    "能改地址吗",
    "地址写错了，能帮我改一下吗",
    "我要退款",
    "拍错了，我要退款",
    "发什么快递",
    "怎么还没有物流信息",
    "收到的东西有破损",
    "能备注一下早点发吗",
    "我的订单怎么显示已取消了",
    "退款什么时候到账",
)
KF_QUESTIONS: Final = (
    "你好，在吗",
    "我在视频号小店买的东西，想问下什么时候发货",
    "你们有线下门店吗",
    "会员积分怎么用",
    "能拉我进粉丝群吗",
)
