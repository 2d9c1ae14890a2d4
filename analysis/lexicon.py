"""Keyword lexicons of the first analysis cut: topics, education relevance, risk words.

They are data, kept in one place so an admin-editable taxonomy can replace them later.
"""

from __future__ import annotations

# topic → (strong words: education on their own; weak words: only beside an education term).
# The strong/weak split keeps "物业收费" or "公交太挤" from counting as education.
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "转学借读": (("转学", "借读", "学籍", "随迁子女"), ("转入", "转出")),
    "招生入学": (("招生", "划片", "学区", "入学", "小升初", "一年级新生"), ("报名", "新生")),
    "均衡编班": (("编班", "分班", "重点班", "实验班", "尖子班"), ("均衡",)),
    "校车交通": (("校车", "护学岗", "上下学", "上学路", "放学路"), ("接送", "交通安全", "公交")),
    "学生资助": (("助学金", "贫困生", "困难学生", "助学贷款", "奖学金", "营养餐"),
                ("资助", "补助", "生活补贴")),
    "学前教育": (("幼儿园", "幼稚园", "普惠园", "保教费", "保育费", "入园", "托育"), ("普惠",)),
    "控辍保学": (("辍学", "失学", "控辍", "劝返", "厌学", "休学"), ("不上学", "不去上学")),
    "特殊教育": (("特殊教育", "特教", "随班就读", "送教上门", "自闭症", "孤独症"), ("残疾",)),
    "教师队伍": (("教师资格", "教师招聘", "教师待遇", "支教", "代课", "教师", "班主任"),
                ("编制", "职称", "绩效", "工资")),
    "民办学校": (("民办学校", "私立学校", "民办幼儿园"), ("民办", "私立")),
    "校园安全": (("食堂", "校园安全", "欺凌", "霸凌", "体罚"),
                ("食品安全", "饭菜", "中毒", "溺水", "安全隐患", "打人")),
    "学生负担": (("课后服务", "补课", "校外培训", "培训机构", "减负", "双减", "延时服务"), ("作业",)),
    "教育收费": (("资料费", "校服费"), ("乱收费", "班费", "学费", "收费", "退费", "费用")),
    "体育": (("运动会", "体测", "体育中考", "体育课", "全民健身", "健身中心"),
             ("体育", "球场", "体育馆", "操场", "健身", "游泳")),
}

EDUCATION_TERMS: tuple[str, ...] = (
    "教育", "学校", "学生", "老师", "教师", "校长", "班主任", "幼儿园", "小学", "初中", "中学",
    "高中", "中职", "职校", "学籍", "上学", "孩子读书", "年级", "课堂", "家长", "校园", "教育局",
    "体育", "招生", "考试", "中考", "高考", "作业", "学费", "课后",
)

SPAM_TERMS: tuple[str, ...] = (
    "低息贷款", "无抵押", "秒批", "信用卡", "套现", "代办", "办证", "加微信", "加V", "楼盘", "首付",
    "低息", "彩票", "认购", "包过", "博彩", "代开发票", "兼职日结", "刷单",
)

# word → (severity, reason shown to people)
RISK_TERMS: dict[str, str] = {
    "死亡": "重大", "身亡": "重大", "伤亡": "重大", "溺亡": "重大", "坠楼": "重大",
    "食物中毒": "重大", "性侵": "重大", "猥亵": "重大", "聚集": "重大", "罢课": "重大",
    "群体": "重大", "堵门": "重大",
    "受伤": "较大", "骨折": "较大", "欺凌": "较大", "霸凌": "较大", "体罚": "较大", "殴打": "较大",
    "打人": "较大", "中毒": "较大", "拉肚子": "较大", "发霉": "较大", "维权": "较大",
    "上访": "较大", "曝光": "较大", "媒体": "较大", "报警": "较大", "安全隐患": "较大",
    "超载": "较大", "烫伤": "较大", "走失": "较大",
    # Teachers stopping work together is a collective action, like 罢课.
    "集体停课": "重大", "罢教": "重大", "停发工资": "较大",
    # Infectious disease and illness in a school: an outbreak closes classes.
    "流感": "较大", "甲流": "较大", "诺如": "较大", "传染病": "较大", "水痘": "较大",
    "手足口": "较大", "腹泻": "较大", "呕吐": "较大",
}

# Several people at once (多人腹泻, 好几个班发烧): with a symptom that alone says little, a
# possible outbreak or a collective food problem (SYMPTOM_TERMS make it 较大).
GROUP_TERMS: tuple[str, ...] = (
    "多人", "多名", "集体", "大面积", "好几个", "好多", "很多学生", "很多孩子", "一批", "全班",
    "几个班", "多个班", "成批",
)
SYMPTOM_TERMS: tuple[str, ...] = ("发烧", "发热", "咳嗽", "不舒服", "身体不适", "头晕", "住院")

# A thank-you for a matter already settled (孩子已经出院，感谢关心) repeats the old risk words
# but asks for nothing: it is no alert. Both kinds of words must be there.
THANKS_TERMS: tuple[str, ...] = ("感谢", "谢谢", "致谢", "点赞", "表扬")
SETTLED_TERMS: tuple[str, ...] = (
    "已经出院", "已出院", "康复", "痊愈", "已经解决", "已解决", "得到解决", "妥善处理", "已经处理",
    "已处理", "及时处理", "处理及时", "处理得很好", "没事了", "恢复正常",
)
# ... unless it goes on to complain again.
STILL_OPEN_TERMS: tuple[str, ...] = ("但是", "但", "可是", "仍然", "仍未", "还没", "至今", "依然", "再次")
