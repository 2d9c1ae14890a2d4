"""The notification texts, in Simplified Chinese: who reads them answers the public in Chinese.

Pure renderers: each takes plain dataclasses that huiying/notify/scan.py loaded and returns
(subject, body). Nothing here reads the database (tests/core/test_notify_texts.py checks that
this module imports no database code and renders every kind from hand-made data).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from huiying.masking import mask_text

EXCERPT_CHARS = 200
BRIEF_OVERDUE_LISTED = 10
SPIKE_WINDOW = timedelta(hours=1)
FOOTER = "此邮件由回应舆情系统自动发送，请勿直接回复。"
# The levels that alert the press office, and that the briefing lists case by case.
ALERT_LEVELS = ("重大", "较大")
LEVELS = ("重大", "较大", "一般")


@dataclass(frozen=True)
class CaseFacts:
    """What a text says about a case; `first_text` is its first comment (or summary), unmasked."""

    id: int
    title: str
    severity: str
    topic: str | None
    status: str
    department: str | None
    due_at: datetime | None
    first_text: str = ""
    severity_reasons: tuple[str, ...] = ()
    heat: int = 1


@dataclass(frozen=True)
class BriefFacts:
    """舆情日报 of one local day: `start`/`end` are its UTC bounds."""

    day: date
    start: datetime
    end: datetime
    new_cases: list[CaseFacts]
    comments: int
    negative: int
    overdue: list[CaseFacts]  # the first BRIEF_OVERDUE_LISTED of them, by due time
    overdue_total: int
    replied: int
    replied_on_time: int
    hot_words: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MonthlyFacts:
    month: date
    file_name: str
    total: int
    needing_answer: int
    replied: int
    on_time: int
    overdue_unanswered: int
    response_rate: float | None
    on_time_rate: float | None
    median_response_hours: float | None
    first_working_day: date
    calendar_known: bool


@dataclass(frozen=True)
class Texts:
    base_url: str
    bureau_name: str
    negative_spike: int
    zone: ZoneInfo
    now: datetime

    def local(self, moment: datetime | None) -> str:
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M") if moment else "未设定"

    def link(self, case_id: int) -> str:
        return f"{self.base_url.rstrip('/')}/cases/{case_id}"

    @staticmethod
    def excerpt(case: CaseFacts) -> str:
        """The first comment, masked and shortened: enough to know the matter."""
        raw = mask_text(case.first_text)
        return raw if len(raw) <= EXCERPT_CHARS else raw[:EXCERPT_CHARS] + "……"

    def facts(self, case: CaseFacts) -> str:
        return "\n".join([
            f"案件：#{case.id} {mask_text(case.title)}",
            f"等级：{case.severity}",
            f"主题：{case.topic or '未分类'}",
            f"状态：{case.status}",
            f"承办单位：{case.department or '未派单（待研判）'}",
            f"办理时限：{self.local(case.due_at)}",
            "",
            "留言摘要：",
            self.excerpt(case),
            "",
            f"查看与办理：{self.link(case.id)}",
        ])

    def listed(self, case: CaseFacts, extra: str = "") -> str:
        return f"· #{case.id} {mask_text(case.title)}{extra}：{self.link(case.id)}"

    @staticmethod
    def percent(part: int, whole: int) -> str:
        return f"{part / whole:.1%}" if whole else "—"

    @staticmethod
    def mail(greeting: str, lead: str, details: str) -> str:
        return f"{greeting}：\n\n{lead}\n\n{details}\n\n{FOOTER}\n"

    def assignment(self, case: CaseFacts, at: datetime, note: str | None) -> tuple[str, str]:
        lead = (f"{self.local(at)} 有一件舆情案件派至贵单位办理，请及时签收，"
                f"并于 {self.local(case.due_at)} 前回应。")
        if note:
            lead += f"\n派单说明：{mask_text(note)}"
        return (f"【回应】派单通知：{mask_text(case.title)}（{case.severity}）",
                self.mail(case.department or "宣传办", lead, self.facts(case)))

    def alert(self, case: CaseFacts, level: str) -> tuple[str, str]:
        reasons = "；".join(case.severity_reasons) or "无"
        lead = (f"发现一件{level}舆情，请立即研判处置。\n定级依据：{reasons}\n"
                f"热度：{case.heat} 条相关留言")
        return (f"【回应】{level}舆情预警：{mask_text(case.title)}",
                self.mail("宣传办", lead, self.facts(case)))

    def spike(self, total: int, by_case: list[tuple[int, CaseFacts]]) -> tuple[str, str]:
        start = self.local(self.now - SPIKE_WINDOW)
        lead = (f"{start} 至 {self.local(self.now)}，共收到负面相关留言 {total} 条，"
                f"超过预警阈值（每小时 {self.negative_spike} 条），请关注舆情走势。")
        lines = ["负面留言较多的案件："]
        lines += [self.listed(case, f"（{count} 条）") for count, case in by_case]
        lines.append(f"\n舆情列表：{self.base_url}/cases/")
        return (f"【回应】负面舆情激增：近1小时 {total} 条", self.mail("宣传办", lead, "\n".join(lines)))

    def reminder(self, case: CaseFacts) -> tuple[str, str]:
        lead = (f"以下案件将于 {self.local(case.due_at)} 到期，目前状态为“{case.status}”，"
                "请抓紧办理并按时回应。")
        return (f"【回应】即将到期提醒：{mask_text(case.title)}（{self.local(case.due_at)} 到期）",
                self.mail(case.department or "宣传办", lead, self.facts(case)))

    def overdue(self, case: CaseFacts) -> tuple[str, str]:
        greeting = f"{case.department}、宣传办" if case.department else "宣传办"
        hours = max(int((self.now - case.due_at).total_seconds() // 3600), 0)
        late = f"已超时 {hours} 小时" if hours else "刚刚超时"
        lead = (f"以下案件的办理时限为 {self.local(case.due_at)}，{late}，目前状态为“{case.status}”。"
                "请立即办理并回应，如需延期请按程序申请。")
        return (f"【回应】催办：{mask_text(case.title)} 已超过办理时限",
                self.mail(greeting, lead, self.facts(case)))

    def crawl(self, source: Any) -> tuple[str, str]:
        """A crawl incident of `source` (a huiying.crawl_health.SourceHealth, a plain dataclass)."""
        incident = source.incident
        lead = (f"来源“{source.title}”（{source.name}）自 {self.local(incident.since)} 起{incident.text}，"
                "该来源的新留言可能没有采到。请检查网站与来源配置；恢复后此提醒自动解除。")
        details = "\n".join([
            f"最近一次采集：{self.local(source.last_started_at)}，用时 {source.last_seconds} 秒",
            f"页面 {source.last_pages} 个，留言 {source.last_items} 条（新增 {source.last_new} 条），"
            f"错误 {source.last_errors} 个",
            "",
            f"来源管理：{self.base_url}/admin/sources/",
            "命令行：huiying sources status --json",
        ])
        return f"【回应】采集异常：{source.title}（{incident.text}）", self.mail("管理员", lead, details)

    def brief(self, data: BriefFacts) -> tuple[str, str]:
        """舆情日报 of a local day; an empty day says so in a few lines."""
        lead = f"{data.day.isoformat()}（{self.local(data.start)} 至 {self.local(data.end)}）舆情概况如下。"
        if data.new_cases:
            levels = Counter(case.severity for case in data.new_cases)
            by_level = "、".join(f"{level} {levels[level]}" for level in LEVELS)
            cases = [f"一、新增案件：{len(data.new_cases)} 件（{by_level}）",
                     *(self.listed(case, f"【{case.severity}】") for case in data.new_cases
                       if case.severity in ALERT_LEVELS)]
        else:
            cases = ["一、新增案件：昨日无新增案件"]
        late = data.replied - data.replied_on_time
        sections = [
            *cases,
            f"二、相关留言：{data.comments} 条，其中负面 {data.negative} 条"
            f"（占 {self.percent(data.negative, data.comments)}）",
            f"三、当前超时未回复：{data.overdue_total} 件",
            *(self.listed(case, f"（时限 {self.local(case.due_at)}）") for case in data.overdue),
            f"四、昨日回复：{data.replied} 件，其中按时 {data.replied_on_time} 件、超时 {late} 件",
            f"五、昨日热词：{'、'.join(data.hot_words) or '无'}",
            "", f"舆情看板：{self.base_url}/",
        ]
        return f"【回应】舆情日报 {data.day.isoformat()}", self.mail("宣传办", lead, "\n".join(sections))

    def monthly(self, data: MonthlyFacts) -> tuple[str, str]:
        """回应月报 of a month: the overall figures; the xlsx is attached when the row is sent."""
        rate = "—" if data.response_rate is None else f"{data.response_rate:.1%}"
        on_time = "—" if data.on_time_rate is None else f"{data.on_time_rate:.1%}"
        median = ("—" if data.median_response_hours is None
                  else f"{data.median_response_hours:.1f} 小时")
        label = f"{data.month.year}年{data.month.month}月"
        lead = f"{self.bureau_name}{label}回应月报已生成，详见附件《{data.file_name}》。"
        if not data.calendar_known:
            lead += f"\n（工作日历未覆盖 {data.first_working_day.year} 年，本月报于当月 1 日发送。）"
        details = "\n".join([
            f"案件数：{data.total} 件",
            f"需回应：{data.needing_answer} 件，已回应 {data.replied} 件，回应率 {rate}",
            f"按时回应：{data.on_time} 件，按时率 {on_time}",
            f"回应时长中位数：{median}",
            f"超期未回应：{data.overdue_unanswered} 件",
            "",
            f"在线查看：{self.base_url}/reports/monthly?month={data.month:%Y-%m}",
        ])
        return f"【回应】回应月报 {label}", self.mail("宣传办", lead, details)
