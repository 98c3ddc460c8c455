//! Public HTML pages (server-rendered, no JavaScript): the institution directory and
//! each institution's disclosure page, in zh-CN and English.
//!
//! Templates are files under `src/pages/templates/`, compiled into the binary and
//! registered once at start in strict mode (a missing value is an error, not an empty
//! string). Handlebars' default escaping applies to every value: the templates use no
//! triple-stash.
pub mod i18n;

use std::sync::Arc;

use entity::institution::{self, InstitutionStatus};
use handlebars::Handlebars;
use poem::{
    Request, Response, handler,
    http::{StatusCode, header},
    web::{Data, Path},
};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use self::i18n::Lang;
use crate::{
    api::complaints::category_labels,
    error::ApiError,
    service::{
        institutions, open_data, paging,
        stats::{self, Figures, Median, OUTCOMES},
    },
    state::AppState,
};

/// Institutions per directory page.
const DIRECTORY_PAGE: u64 = 50;
/// Published cases shown on a disclosure page.
const RECENT_CASES: u64 = 10;

const TEMPLATES: [(&str, &str); 4] = [
    ("layout", include_str!("templates/layout.hbs")),
    ("directory", include_str!("templates/directory.hbs")),
    ("institution", include_str!("templates/institution.hbs")),
    ("not_found", include_str!("templates/not_found.hbs")),
];

/// The compiled templates. Built once at start and shared.
pub struct Pages {
    hb: Handlebars<'static>,
}

impl Pages {
    pub fn new() -> anyhow::Result<Self> {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.set_dev_mode(false);
        for (name, source) in TEMPLATES {
            hb.register_template_string(name, source)
                .map_err(|e| anyhow::anyhow!("template {name}: {e}"))?;
        }
        Ok(Self { hb })
    }

    pub fn render(&self, name: &str, data: &Value) -> Result<String, ApiError> {
        self.hb
            .render(name, data)
            .map_err(|e| ApiError::Unexpected(anyhow::anyhow!("rendering {name}: {e}")))
    }
}

pub type SharedPages = Arc<Pages>;

/// Query parameters the pages understand; unknown ones are ignored.
#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    lang: Option<String>,
    q: Option<String>,
    region: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
}

fn query_of(req: &Request) -> PageQuery {
    req.params::<PageQuery>().unwrap_or_default()
}

fn lang_of(req: &Request, q: &PageQuery) -> Lang {
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Lang::negotiate(q.lang.as_deref(), accept)
}

/// Encodes one query-string value.
fn enc(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

fn html(status: StatusCode, lang: Lang, body: String) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .header(header::CONTENT_LANGUAGE, lang.tag())
        .header(header::VARY, "Accept-Language")
        .header("x-content-type-options", "nosniff")
        .header(
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        )
        .body(body)
}

/// The data every page shares: language, labels, the switch to the other language.
fn base(lang: Lang, min_cases: i64, title: &str, path_and_query: String) -> Value {
    json!({
        "lang": lang.tag(),
        "other_lang": lang.other().tag(),
        "t": i18n::labels(lang, min_cases),
        "title": title,
        "switch_href": path_and_query,
    })
}

fn merge(mut into: Value, extra: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), extra) {
        a.extend(b);
    }
    into
}

fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

fn status_code(s: InstitutionStatus) -> &'static str {
    match s {
        InstitutionStatus::Active => "active",
        InstitutionStatus::Suspended => "suspended",
        InstitutionStatus::Exited => "exited",
    }
}

fn parse_status(s: &str) -> Option<InstitutionStatus> {
    match s {
        "active" => Some(InstitutionStatus::Active),
        "suspended" => Some(InstitutionStatus::Suspended),
        "exited" => Some(InstitutionStatus::Exited),
        _ => None,
    }
}

/// `GET /institutions`: the searchable directory.
#[handler]
pub async fn directory(
    req: &Request,
    state: Data<&AppState>,
    pages: Data<&SharedPages>,
) -> poem::Result<Response> {
    let q = query_of(req);
    let lang = lang_of(req, &q);
    let min = state.settings.stats_min_cases;
    let name =
        q.q.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().take(100).collect::<String>());
    let region = q
        .region
        .as_deref()
        .filter(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned);
    let status = q.status.as_deref().and_then(parse_status);
    let after = paging::decode(q.cursor.as_deref()).unwrap_or(None);
    let filter = institutions::Filter {
        name_contains: name.clone(),
        region_prefix: region.clone(),
        status,
        ..Default::default()
    };
    let (rows, next) = institutions::list(&state.db, filter, after, DIRECTORY_PAGE).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let since = stats::last_12_months_from(state.clock.now());
    let totals = stats::directory_totals(&state.db, &ids, &since).await?;
    let too_few = i18n::label(lang, "too_few");
    let list: Vec<Value> = rows
        .iter()
        .map(|r| {
            let t = totals.get(&r.id).cloned().unwrap_or_default();
            let f = Figures::of(&t, min);
            let timely = if f.suppressed {
                too_few.to_owned()
            } else {
                f.timely_share.map_or("—".to_owned(), percent)
            };
            json!({
                "id": r.id,
                "name": r.name,
                "region": i18n::region(lang, &r.region_code),
                "status": i18n::status(lang, r.status),
                "status_code": status_code(r.status),
                "received": t.received,
                "timely": timely,
            })
        })
        .collect();

    let keep = |lang: Lang, cursor: Option<&str>| {
        let mut s = format!("/institutions?lang={}", lang.tag());
        if let Some(n) = &name {
            s.push_str(&format!("&q={}", enc(n)));
        }
        if let Some(r) = &region {
            s.push_str(&format!("&region={r}"));
        }
        if let Some(st) = status {
            s.push_str(&format!("&status={}", status_code(st)));
        }
        if let Some(c) = cursor {
            s.push_str(&format!("&cursor={}", enc(c)));
        }
        s
    };
    let provinces: Vec<Value> = i18n::provinces(lang)
        .into_iter()
        .map(|(code, pname)| {
            json!({ "code": code, "name": pname, "selected": region.as_deref() == Some(code) })
        })
        .collect();
    let statuses: Vec<Value> = [
        InstitutionStatus::Active,
        InstitutionStatus::Suspended,
        InstitutionStatus::Exited,
    ]
    .into_iter()
    .map(|s| {
        json!({ "code": status_code(s), "name": i18n::status(lang, s), "selected": status == Some(s) })
    })
    .collect();
    let title = i18n::label(lang, "directory_title");
    let data = merge(
        base(lang, min, title, keep(lang.other(), q.cursor.as_deref())),
        json!({
            "query": { "q": name.clone().unwrap_or_default() },
            "provinces": provinces,
            "statuses": statuses,
            "institutions": list,
            "next_href": next.as_deref().map(|c| keep(lang, Some(c))),
            "first_href": after.map(|_| keep(lang, None)),
        }),
    );
    let body = pages.render("directory", &data)?;
    Ok(html(StatusCode::OK, lang, body))
}

/// `GET /institutions/{id}`: the disclosure page.
#[handler]
pub async fn institution_page(
    req: &Request,
    Path(id): Path<String>,
    state: Data<&AppState>,
    pages: Data<&SharedPages>,
) -> poem::Result<Response> {
    let q = query_of(req);
    let lang = lang_of(req, &q);
    let min = state.settings.stats_min_cases;
    let found = match Uuid::parse_str(&id) {
        Ok(id) => match institutions::get(&state.db, id).await {
            Ok(i) => Some(i),
            Err(ApiError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        Err(_) => None,
    };
    let Some(inst) = found else {
        let title = i18n::label(lang, "not_found_title");
        let data = base(
            lang,
            min,
            title,
            format!("/institutions/{}?lang={}", enc(&id), lang.other().tag()),
        );
        let body = pages.render("not_found", &data)?;
        return Ok(html(StatusCode::NOT_FOUND, lang, body));
    };
    let now = state.clock.now();
    let since = stats::last_12_months_from(now);
    let (recent, all) = stats::totals(&state.db, inst.id, &since).await?;
    let (recent, all) = (Figures::of(&recent, min), Figures::of(&all, min));
    let cases = open_data::recent(&state.db, &inst, RECENT_CASES, now).await?;

    let data = merge(
        base(
            lang,
            min,
            &inst.name,
            format!("/institutions/{}?lang={}", inst.id, lang.other().tag()),
        ),
        json!({
            "banner": banner(lang, inst.status),
            "inst": registration(lang, &inst),
            "disclosures": disclosures(lang, &inst),
            "figures": figure_rows(lang, &recent, &all),
            "outcomes": outcome_rows(lang, &recent, &all),
            "cases": cases.iter().map(|c| case_view(lang, c)).collect::<Vec<_>>(),
        }),
    );
    let body = pages.render("institution", &data)?;
    Ok(html(StatusCode::OK, lang, body))
}

fn banner(lang: Lang, s: InstitutionStatus) -> Option<&'static str> {
    match s {
        InstitutionStatus::Active => None,
        InstitutionStatus::Suspended => Some(i18n::label(lang, "banner_suspended")),
        InstitutionStatus::Exited => Some(i18n::label(lang, "banner_exited")),
    }
}

fn date(lang: Lang, at: chrono::DateTime<chrono::Utc>) -> String {
    let local = at.with_timezone(&stats::STATS_TZ);
    match lang {
        Lang::ZhCn => local.format("%Y年%-m月%-d日").to_string(),
        Lang::En => local.format("%-d %b %Y").to_string(),
    }
}

fn registration(lang: Lang, i: &institution::Model) -> Value {
    json!({
        "id": i.id,
        "name": i.name,
        "credit_code": i.credit_code,
        "filing_number": i.filing_number,
        "region": i18n::region(lang, &i.region_code),
        "status": i18n::status(lang, i.status),
        "status_code": status_code(i.status),
        "website": i.website,
        "disclosure_updated": i.disclosure_updated_at.map(|d| date(lang, d)),
    })
}

fn disclosures(lang: Lang, i: &institution::Model) -> Vec<Value> {
    [
        (i18n::label(lang, "service_rules"), &i.service_rules),
        (
            i18n::label(lang, "fees_and_prepayment"),
            &i.fees_and_prepayment,
        ),
        (i18n::label(lang, "refund_policy"), &i.refund_policy),
        (
            i18n::label(lang, "teacher_qualifications"),
            &i.teacher_qualifications,
        ),
        (i18n::label(lang, "complaint_contact"), &i.complaint_contact),
    ]
    .into_iter()
    .map(|(title, text)| json!({ "title": title, "text": text }))
    .collect()
}

/// One figure of a period: the value, "too few cases to publish" when suppressed,
/// or a dash when there is nothing to measure yet.
fn shown<T>(lang: Lang, f: &Figures, v: Option<T>, fmt: impl Fn(T) -> String) -> String {
    if f.suppressed {
        i18n::label(lang, "too_few").to_owned()
    } else {
        v.map_or("—".to_owned(), fmt)
    }
}

fn median_text(lang: Lang, m: Median) -> String {
    match m {
        Median::Days { whole, half } => {
            if half {
                format!("{whole}.5")
            } else {
                whole.to_string()
            }
        }
        Median::MoreThan60 => i18n::label(lang, "more_than_60").to_owned(),
    }
}

fn figure_rows(lang: Lang, r: &Figures, a: &Figures) -> Vec<Value> {
    let row = |key: &str, label: &str, f: &dyn Fn(&Figures) -> String| json!({ "key": key, "label": label, "recent": f(r), "all": f(a) });
    let count = |get: fn(&Figures) -> Option<i64>| {
        move |f: &Figures| shown(lang, f, get(f), |v| v.to_string())
    };
    vec![
        row("received", i18n::label(lang, "cases_received"), &|f| {
            f.received.to_string()
        }),
        row("timely", i18n::label(lang, "answered_in_time"), &|f| {
            shown(lang, f, f.timely_share, percent)
        }),
        row("median-days", i18n::label(lang, "median_days"), &|f| {
            shown(lang, f, f.median_days, |m| median_text(lang, m))
        }),
        row("escalated", i18n::label(lang, "escalated"), &|f| {
            shown(lang, f, f.escalated_share, percent)
        }),
        row(
            "unfulfilled",
            i18n::label(lang, "settlements_unfulfilled"),
            &count(|f| f.settlements_unfulfilled),
        ),
        row(
            "breaches",
            i18n::label(lang, "sla_breaches"),
            &count(|f| f.breaches),
        ),
        row("rating", i18n::label(lang, "mean_rating"), &|f| {
            shown(lang, f, f.mean_rating, |m| {
                format!("{m:.1} ({})", f.ratings.unwrap_or(0))
            })
        }),
    ]
}

fn outcome_code(o: entity::complaint::Outcome) -> &'static str {
    use entity::complaint::Outcome::*;
    match o {
        MonetaryRelief => "monetary-relief",
        NonMonetaryRelief => "non-monetary-relief",
        ExplanationOnly => "explanation-only",
        NoAgreement => "no-agreement",
        Withdrawn => "withdrawn",
        Rejected => "rejected",
    }
}

fn outcome_rows(lang: Lang, r: &Figures, a: &Figures) -> Vec<Value> {
    let cell = |f: &Figures, i: usize| {
        shown(lang, f, f.outcomes.zip(f.closed), |(o, closed)| {
            if closed > 0 {
                format!("{} ({})", o[i], percent(o[i] as f64 / closed as f64))
            } else {
                o[i].to_string()
            }
        })
    };
    let mut rows = vec![json!({
        "key": "closed",
        "label": i18n::label(lang, "closed_cases"),
        "recent": shown(lang, r, r.closed, |v| v.to_string()),
        "all": shown(lang, a, a.closed, |v| v.to_string()),
    })];
    rows.extend(OUTCOMES.iter().enumerate().map(|(i, o)| {
        json!({
            "key": outcome_code(*o),
            "label": i18n::outcome(lang, *o),
            "recent": cell(r, i),
            "all": cell(a, i),
        })
    }));
    rows
}

fn case_view(lang: Lang, c: &open_data::PublicCase) -> Value {
    let (zh, en) = category_labels(c.category);
    json!({
        "reference": c.reference,
        "category": lang.pick(zh, en),
        "received": date(lang, c.received_at),
        "state": i18n::state(lang, c.state),
        "outcome": c.outcome.map(|o| i18n::outcome(lang, o)),
        "timely": c.timely.map(|t| if t { i18n::label(lang, "yes") } else { i18n::label(lang, "no") }),
        "narrative": c.narrative,
        "response": c.public_response_text,
        "response_kind": c.public_response_kind.map(|k| i18n::response_kind(lang, k)),
    })
}

/// Builds the shared pages for `routes()`.
pub fn shared() -> anyhow::Result<SharedPages> {
    Ok(Arc::new(Pages::new()?))
}
