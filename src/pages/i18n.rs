//! The pages' words in zh-CN and English, in one table, and the choice of language
//! (`?lang=`, then `Accept-Language`, then zh-CN).
use entity::{
    complaint::{CaseState, Outcome, PublicResponseKind},
    institution::InstitutionStatus,
};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    ZhCn,
    En,
}

impl Lang {
    /// The BCP 47 tag, for `lang` attributes and `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::ZhCn => Lang::En,
            Lang::En => Lang::ZhCn,
        }
    }

    fn parse(tag: &str) -> Option<Lang> {
        let t = tag.trim().to_ascii_lowercase();
        if t == "zh" || t.starts_with("zh-") || t.starts_with("zh_") {
            Some(Lang::ZhCn)
        } else if t == "en" || t.starts_with("en-") || t.starts_with("en_") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// `?lang=` wins; otherwise the best-weighted language of `Accept-Language` that
    /// the pages speak; otherwise zh-CN.
    pub fn negotiate(query: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(l) = query.and_then(Lang::parse) {
            return l;
        }
        let mut best: Option<(f32, usize, Lang)> = None;
        for (i, part) in accept_language.unwrap_or_default().split(',').enumerate() {
            let mut bits = part.split(';');
            let Some(lang) = bits.next().and_then(Lang::parse) else {
                continue;
            };
            let q = bits
                .find_map(|b| b.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            // Higher weight wins; on a tie, the earlier entry.
            if best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
                best = Some((q, i, lang));
            }
        }
        best.map_or(Lang::ZhCn, |(_, _, l)| l)
    }

    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::ZhCn => zh,
            Lang::En => en,
        }
    }
}

/// (key, zh-CN, en)
const LABELS: &[(&str, &str, &str)] = &[
    (
        "site_name",
        "在线教育投诉与纠纷解决平台",
        "Online education complaints and dispute resolution",
    ),
    ("directory_title", "机构名录", "Institution directory"),
    (
        "directory_intro",
        "在线教育机构的登记信息、强制公示事项和投诉记录。",
        "Registration data, mandatory disclosures and complaint records of online-education institutions.",
    ),
    ("language_switch", "English", "中文"),
    ("language_switch_label", "切换语言", "Change language"),
    ("search", "搜索", "Search"),
    ("search_name", "机构名称", "Institution name"),
    ("search_region", "地区", "Region"),
    ("search_status", "状态", "Status"),
    ("any", "全部", "Any"),
    ("name", "名称", "Name"),
    ("region", "地区", "Region"),
    ("status", "状态", "Status"),
    (
        "complaints_12m",
        "近12个月投诉",
        "Complaints, last 12 months",
    ),
    ("timely_rate", "按时回应率", "Answered in time"),
    (
        "no_institutions",
        "没有符合条件的机构。",
        "No institution matches.",
    ),
    ("next_page", "下一页", "Next page"),
    ("first_page", "第一页", "First page"),
    ("too_few", "案件过少，不予公布", "too few cases to publish"),
    ("not_applicable", "—", "—"),
    ("registration", "登记信息", "Registration"),
    (
        "credit_code",
        "统一社会信用代码",
        "Unified social credit code",
    ),
    ("filing_number", "备案号", "Filing number"),
    ("website", "网站", "Website"),
    ("disclosures", "强制公示事项", "Mandatory disclosures"),
    ("disclosure_updated", "公示更新于", "Disclosures updated"),
    ("service_rules", "服务规则", "Service rules"),
    (
        "fees_and_prepayment",
        "收费及预付规则",
        "Fees and prepayment terms",
    ),
    ("refund_policy", "退费政策", "Refund policy"),
    (
        "teacher_qualifications",
        "教师资质",
        "Teacher qualifications",
    ),
    ("complaint_contact", "投诉联系方式", "Complaint contact"),
    ("not_disclosed", "未公示", "Not disclosed"),
    ("record", "投诉记录", "Complaint record"),
    (
        "record_intro",
        "按收到投诉的月份统计（北京时间）。少于{min}件的期间不公布比率、中位数等数字，以免识别投诉人。",
        "Counted by the month a complaint was received (China Standard Time). For a period with fewer than {min} cases, rates, medians and other figures are withheld so that no learner can be identified.",
    ),
    ("figure", "项目", "Figure"),
    ("last_12_months", "近12个月", "Last 12 months"),
    ("all_time", "全部", "All time"),
    ("cases_received", "收到投诉", "Cases received"),
    ("answered_in_time", "按时回应比例", "Share answered in time"),
    (
        "median_days",
        "首次回应用时中位数（工作日）",
        "Median working days to first answer",
    ),
    ("outcomes", "办结结果", "Outcomes"),
    ("closed_cases", "已办结", "Closed cases"),
    ("escalated", "转入调解比例", "Share escalated to mediation"),
    (
        "settlements_unfulfilled",
        "和解协议未履行",
        "Settlements not fulfilled",
    ),
    ("sla_breaches", "超时未回应", "Response deadlines missed"),
    ("mean_rating", "平均满意度（1–5）", "Mean rating (1–5)"),
    ("more_than_60", "超过60", "more than 60"),
    (
        "recent_cases",
        "最近公开的投诉",
        "Most recent published cases",
    ),
    ("no_cases", "暂无公开的投诉。", "No published cases yet."),
    ("reference", "编号", "Reference"),
    ("received", "收到日期", "Received"),
    ("category", "类别", "Category"),
    ("state", "进展", "State"),
    ("outcome", "结果", "Outcome"),
    ("timely", "按时回应", "Answered in time"),
    ("yes", "是", "yes"),
    ("no", "否", "no"),
    (
        "narrative",
        "投诉内容（已去除个人信息）",
        "Complaint (personal data removed)",
    ),
    (
        "narrative_withheld",
        "投诉人未同意公开内容。",
        "The learner did not consent to publishing the text.",
    ),
    (
        "institution_response",
        "机构公开回应",
        "Institution's public response",
    ),
    ("open_data", "开放数据", "Open data"),
    ("open_data_json", "JSON", "JSON"),
    ("open_data_csv", "CSV", "CSV"),
    ("stats_json", "统计数据（JSON）", "Statistics (JSON)"),
    ("back_to_directory", "返回机构名录", "Back to the directory"),
    ("not_found_title", "未找到", "Not found"),
    (
        "not_found_text",
        "没有这个机构。",
        "There is no such institution.",
    ),
    (
        "banner_suspended",
        "该机构已被暂停服务。请勿向其预付费用；已有的投诉仍在处理。",
        "This institution is suspended. Do not prepay it; existing complaints are still handled.",
    ),
    (
        "banner_exited",
        "该机构已退出（停止经营）。请勿向其付费；已有的投诉仍在处理。",
        "This institution has exited (stopped operating). Do not pay it; existing complaints are still handled.",
    ),
    ("skip_to_content", "跳到正文", "Skip to content"),
    ("per_cent_suffix", "%", "%"),
];

/// One label by key (the keys of the table above).
pub fn label(lang: Lang, key: &str) -> &'static str {
    LABELS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map_or("", |(_, zh, en)| lang.pick(zh, en))
}

/// All labels of one language, for the templates (`{{t.key}}`).
pub fn labels(lang: Lang, min_cases: i64) -> Value {
    let mut m = Map::new();
    for (k, zh, en) in LABELS {
        let v = lang.pick(zh, en).replace("{min}", &min_cases.to_string());
        m.insert((*k).to_owned(), Value::String(v));
    }
    Value::Object(m)
}

pub fn status(lang: Lang, s: InstitutionStatus) -> &'static str {
    match s {
        InstitutionStatus::Active => lang.pick("正常", "Active"),
        InstitutionStatus::Suspended => lang.pick("暂停", "Suspended"),
        InstitutionStatus::Exited => lang.pick("已退出", "Exited"),
    }
}

pub fn state(lang: Lang, s: CaseState) -> &'static str {
    match s {
        CaseState::Submitted => lang.pick("待受理", "Submitted"),
        CaseState::AwaitingResponse => lang.pick("待机构回应", "Awaiting response"),
        CaseState::InfoRequested => lang.pick("机构要求补充信息", "Information requested"),
        CaseState::Responded => lang.pick("机构已回应", "Responded"),
        CaseState::AwaitingMediation => lang.pick("待调解", "Awaiting mediation"),
        CaseState::InMediation => lang.pick("调解中", "In mediation"),
        CaseState::Resolved => lang.pick("已解决", "Resolved"),
        CaseState::Settled => lang.pick("调解成功", "Settled"),
        CaseState::Unresolved => lang.pick("调解未果", "Unresolved"),
        CaseState::Rejected => lang.pick("不予受理", "Rejected"),
        CaseState::Withdrawn => lang.pick("已撤回", "Withdrawn"),
    }
}

pub fn outcome(lang: Lang, o: Outcome) -> &'static str {
    match o {
        Outcome::MonetaryRelief => lang.pick("退款或赔偿", "Monetary relief"),
        Outcome::NonMonetaryRelief => lang.pick("非金钱补救", "Non-monetary relief"),
        Outcome::ExplanationOnly => lang.pick("仅作解释", "Explanation only"),
        Outcome::NoAgreement => lang.pick("未达成一致", "No agreement"),
        Outcome::Withdrawn => lang.pick("撤回", "Withdrawn"),
        Outcome::Rejected => lang.pick("不予受理", "Rejected"),
    }
}

pub fn response_kind(lang: Lang, k: PublicResponseKind) -> &'static str {
    match k {
        PublicResponseKind::DisputesTheFacts => lang.pick("对事实有异议", "Disputes the facts"),
        PublicResponseKind::ResolvedWithTheLearner => {
            lang.pick("已与投诉人解决", "Resolved with the learner")
        }
        PublicResponseKind::ActedOnTheFeedback => {
            lang.pick("已根据反馈改进", "Acted on the feedback")
        }
        PublicResponseKind::UnderReview => lang.pick("正在核查", "Under review"),
        PublicResponseKind::Other => lang.pick("其他", "Other"),
    }
}

/// Province-level divisions (GB/T 2260), by the first two digits of a region code.
const PROVINCES: [(&str, &str, &str); 34] = [
    ("11", "北京市", "Beijing"),
    ("12", "天津市", "Tianjin"),
    ("13", "河北省", "Hebei"),
    ("14", "山西省", "Shanxi"),
    ("15", "内蒙古自治区", "Inner Mongolia"),
    ("21", "辽宁省", "Liaoning"),
    ("22", "吉林省", "Jilin"),
    ("23", "黑龙江省", "Heilongjiang"),
    ("31", "上海市", "Shanghai"),
    ("32", "江苏省", "Jiangsu"),
    ("33", "浙江省", "Zhejiang"),
    ("34", "安徽省", "Anhui"),
    ("35", "福建省", "Fujian"),
    ("36", "江西省", "Jiangxi"),
    ("37", "山东省", "Shandong"),
    ("41", "河南省", "Henan"),
    ("42", "湖北省", "Hubei"),
    ("43", "湖南省", "Hunan"),
    ("44", "广东省", "Guangdong"),
    ("45", "广西壮族自治区", "Guangxi"),
    ("46", "海南省", "Hainan"),
    ("50", "重庆市", "Chongqing"),
    ("51", "四川省", "Sichuan"),
    ("52", "贵州省", "Guizhou"),
    ("53", "云南省", "Yunnan"),
    ("54", "西藏自治区", "Tibet"),
    ("61", "陕西省", "Shaanxi"),
    ("62", "甘肃省", "Gansu"),
    ("63", "青海省", "Qinghai"),
    ("64", "宁夏回族自治区", "Ningxia"),
    ("65", "新疆维吾尔自治区", "Xinjiang"),
    ("71", "台湾省", "Taiwan"),
    ("81", "香港特别行政区", "Hong Kong"),
    ("82", "澳门特别行政区", "Macao"),
];

/// The province of a region code, with the code: `北京市 (110108)`.
pub fn region(lang: Lang, code: &str) -> String {
    let prefix = code.get(..2).unwrap_or_default();
    match PROVINCES.iter().find(|(p, _, _)| *p == prefix) {
        Some((_, zh, en)) => format!("{} ({code})", lang.pick(zh, en)),
        None => code.to_owned(),
    }
}

/// The provinces, for the directory's region filter: (two-digit prefix, name).
pub fn provinces(lang: Lang) -> Vec<(&'static str, &'static str)> {
    PROVINCES
        .iter()
        .map(|(p, zh, en)| (*p, lang.pick(zh, en)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_beats_header_and_zh_is_the_default() {
        assert_eq!(Lang::negotiate(Some("en"), Some("zh-CN")), Lang::En);
        assert_eq!(Lang::negotiate(Some("zh-CN"), Some("en")), Lang::ZhCn);
        assert_eq!(Lang::negotiate(None, None), Lang::ZhCn);
        assert_eq!(Lang::negotiate(Some("fr"), None), Lang::ZhCn);
        assert_eq!(Lang::negotiate(None, Some("fr-FR, de")), Lang::ZhCn);
    }

    #[test]
    fn accept_language_weights() {
        assert_eq!(Lang::negotiate(None, Some("en-GB,en;q=0.9")), Lang::En);
        assert_eq!(
            Lang::negotiate(None, Some("fr;q=1, en;q=0.5, zh-TW;q=0.8")),
            Lang::ZhCn
        );
        assert_eq!(Lang::negotiate(None, Some("zh;q=0, en;q=0.1")), Lang::En);
        assert_eq!(Lang::negotiate(None, Some("en, zh")), Lang::En);
    }

    #[test]
    fn both_languages_have_every_label() {
        for (k, zh, en) in LABELS {
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
        }
        let mut keys: Vec<&str> = LABELS.iter().map(|(k, _, _)| *k).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate label keys");
    }

    #[test]
    fn regions_show_the_province() {
        assert_eq!(region(Lang::ZhCn, "110108"), "北京市 (110108)");
        assert_eq!(region(Lang::En, "440305"), "Guangdong (440305)");
        assert_eq!(region(Lang::En, "990000"), "990000");
    }
}
