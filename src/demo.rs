//! `redress demo`: a realistic data set, loaded by driving the real service functions
//! on a fake clock that runs through the past ~20 months, so that timelines, timers,
//! breaches and statistics are all genuine.
//!
//! Deterministic for a given `--seed` (ids and dates aside: the clock ends today).
use std::{
    cmp::Reverse,
    collections::BinaryHeap,
    sync::Arc,
    time::{Duration as StdDuration, Instant},
};

use chrono::{DateTime, Duration, DurationRound, NaiveDate, Utc};
use entity::{
    account::{self, Role},
    complaint::{Category, DesiredRemedy, PublicResponseKind, ResponseRemedy},
    institution::{self, InstitutionStatus},
};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use uuid::Uuid;

use crate::{
    auth::{Principal, password},
    clock::FakeClock,
    config::Settings,
    domain::{
        account::{Email, Password},
        credit_code::CreditCode,
        mediation::Term,
        region::RegionCode,
    },
    error::ApiError,
    service::{
        associations,
        complaints::{self, ActionInput, Answer, NewComplaint, RejectReason},
        institutions::{self, Disclosure, NewInstitution},
        mediation, open_data, sla,
    },
    state::AppState,
};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "redress-demo-2026";

/// How many days of history the demo covers.
const HISTORY_DAYS: i64 = 600;

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub seed: u64,
    pub cases: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seed: 2019,
            cases: 3000,
        }
    }
}

/// One printed login.
#[derive(Debug, Clone)]
pub struct Credential {
    pub role: &'static str,
    pub email: String,
    pub note: String,
}

#[derive(Debug)]
pub struct Report {
    pub institutions: usize,
    pub cases: usize,
    pub published: u64,
    pub credentials: Vec<Credential>,
    pub elapsed: StdDuration,
}

impl Report {
    /// The summary printed at the end (credentials included).
    pub fn render(&self) -> String {
        let mut s = format!(
            "demo loaded: {} institutions, {} cases ({} published as open data) in {:.1} s\n\n\
             accounts (password for all: {DEMO_PASSWORD}):\n",
            self.institutions,
            self.cases,
            self.published,
            self.elapsed.as_secs_f64()
        );
        for c in &self.credentials {
            s.push_str(&format!("  {:<18} {:<40} {}\n", c.role, c.email, c.note));
        }
        s
    }
}

/// Whether the database already holds institutions (then the demo is not loaded).
pub async fn has_data(db: &impl ConnectionTrait) -> anyhow::Result<bool> {
    Ok(institution::Entity::find().count(db).await? > 0)
}

/// Loads the demo into the database the settings point at, which must hold no
/// institutions yet.
pub async fn load(settings: &Settings, opts: Options) -> anyhow::Result<Report> {
    let started = Instant::now();
    let end = Utc::now().duration_trunc(Duration::hours(1))?;
    let start = end - Duration::days(HISTORY_DAYS);
    let clock = FakeClock::new(start);
    let mut settings = settings.clone();
    // One connection: the pragma below then holds for every statement of the load.
    settings.db_max_connections = 1;
    let state = AppState::init(settings, Arc::new(clock.clone())).await?;
    if has_data(&state.db).await? {
        anyhow::bail!("the database already has institutions; the demo loads into an empty one");
    }
    // A bulk load need not wait for the disk at every commit: a crash loses at most
    // the last transactions, never consistency (SQLite WAL with NORMAL sync; PostgreSQL
    // asynchronous commit, for this session only).
    let relax = if state.settings.is_sqlite() {
        "PRAGMA synchronous = NORMAL"
    } else {
        "SET synchronous_commit = off"
    };
    state.db.execute_unprepared(relax).await?;
    let mut sim = Sim {
        rng: StdRng::seed_from_u64(opts.seed),
        state,
        clock,
        start,
        end,
    };
    let world = sim.world().await?;
    let cases = sim.cases(&world, opts.cases).await?;
    // The history was played on a fake clock: its learners are not mailed about months
    // past (only changes made after the load are).
    entity::email_outbox::Entity::delete_many()
        .exec(&sim.state.db)
        .await?;
    let published = open_data::count(&sim.state.db, end).await?;
    sim.state.db.clone().close().await.ok();
    Ok(Report {
        institutions: world.institutions.len(),
        cases,
        published,
        credentials: world.credentials,
        elapsed: started.elapsed(),
    })
}

struct Inst {
    model: institution::Model,
    staff: Principal,
    /// 0 (answers late or never) to 1 (answers within days).
    diligence: f64,
    /// Relative share of the complaints.
    weight: f64,
}

struct World {
    institutions: Vec<Inst>,
    learners: Vec<(Principal, String)>,
    regulator: Principal,
    /// One mediator per association.
    mediators: Vec<Principal>,
    credentials: Vec<Credential>,
}

struct Sim {
    rng: StdRng,
    state: AppState,
    clock: FakeClock,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

const SURNAMES: [&str; 24] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高", "郑", "梁", "谢", "宋",
];
const GIVEN: [&str; 24] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明",
    "超", "秀英", "晓东", "雨桐", "子涵", "浩然", "欣怡", "梓萱",
];

const NAME_HEADS: [&str; 30] = [
    "星火",
    "博学",
    "青禾",
    "智慧树",
    "启航",
    "明德",
    "卓越",
    "乐学",
    "育才",
    "思源",
    "远航",
    "知行",
    "新东",
    "未来星",
    "书香",
    "慧心",
    "青藤",
    "墨韵",
    "光合",
    "金话筒",
    "小牛",
    "优课",
    "学霸",
    "橙子",
    "云端",
    "天天向上",
    "竹笋",
    "考拉",
    "鲸鱼",
    "灯塔",
];
const NAME_TAILS: [&str; 5] = [
    "在线教育科技有限公司",
    "网络科技有限公司",
    "教育咨询有限公司",
    "文化传播有限公司",
    "职业技能培训学校有限公司",
];
/// (region code, filing prefix)
const REGIONS: [(&str, &str); 8] = [
    ("110108", "京"),
    ("110105", "京"),
    ("310104", "沪"),
    ("440305", "粤"),
    ("330106", "浙"),
    ("510107", "川"),
    ("420106", "鄂"),
    ("320102", "苏"),
];

const COURSES: [&str; 10] = [
    "少儿英语外教一对一",
    "初中数学同步提高班",
    "Python编程入门",
    "考研政治全程班",
    "雅思7分冲刺班",
    "少儿美术启蒙课",
    "公务员考试系统班",
    "钢琴陪练",
    "高中物理网课",
    "会计初级职称课程",
];

impl Sim {
    fn name(&mut self) -> String {
        let s = *SURNAMES.choose(&mut self.rng).unwrap_or(&"王");
        let g = *GIVEN.choose(&mut self.rng).unwrap_or(&"伟");
        format!("{s}{g}")
    }

    async fn world(&mut self) -> anyhow::Result<World> {
        let db = self.state.db.clone();
        let now = self.start;
        let national = associations::create(
            &db,
            "中国消费者协会".into(),
            vec![parse_region("000000")?],
            now,
        )
        .await?;
        let beijing = associations::create(
            &db,
            "北京市消费者协会".into(),
            vec![parse_region("110000")?],
            now,
        )
        .await?;

        let email = Email::parse("admin@demo.redress.example").map_err(anyhow::Error::msg)?;
        let pw = Password::parse(DEMO_PASSWORD, &email).map_err(anyhow::Error::msg)?;
        let hash = password::hash(&pw).await?;

        let mut institutions = Vec::new();
        let heads: Vec<&str> = NAME_HEADS.to_vec();
        for (n, head) in heads.iter().enumerate() {
            let (region, prefix) = REGIONS[n % REGIONS.len()];
            let tail = NAME_TAILS[(n * 7 + 3) % NAME_TAILS.len()];
            let name = format!("{head}{tail}");
            let code = CreditCode::complete(&format!("91{region}MA{:07}", 1_000_000 + n * 7919))
                .map_err(|e| anyhow::anyhow!("credit code: {e:?}"))?;
            let status = match n {
                5 | 17 => InstitutionStatus::Suspended,
                11 | 23 => InstitutionStatus::Exited,
                _ => InstitutionStatus::Active,
            };
            let model = institutions::create(
                &db,
                NewInstitution {
                    name: name.clone(),
                    credit_code: code,
                    filing_number: format!("{prefix}教APP备{}{:05}号", &region[..4], 100 + n * 37),
                    region: parse_region(region)?,
                    website: Some(format!("https://www.inst{n:02}.example.cn")),
                    status,
                    disclosure: disclosure(&name, n),
                },
                now,
            )
            .await?;
            let staff_name = self.name();
            let staff = insert_account(
                &db,
                &format!("staff{n:02}@demo.redress.example"),
                &staff_name,
                Role::InstitutionStaff,
                Some(model.id),
                None,
                &hash,
                now,
            )
            .await?;
            // A few large institutions, a long tail, some with only a handful of cases.
            let weight = match n {
                0 => 14.0,
                1 | 2 => 8.0,
                3..=9 => 4.0,
                10..=24 => 1.5,
                _ => 0.12,
            };
            let diligence = match n % 6 {
                0..=2 => 0.9,
                3 | 4 => 0.6,
                _ => 0.25,
            };
            institutions.push(Inst {
                model,
                staff,
                diligence,
                weight,
            });
        }

        insert_account(
            &db,
            "admin@demo.redress.example",
            "平台管理员",
            Role::Admin,
            None,
            None,
            &hash,
            now,
        )
        .await?;
        let regulator = insert_account(
            &db,
            "regulator@demo.redress.example",
            "监管人员",
            Role::Regulator,
            None,
            None,
            &hash,
            now,
        )
        .await?;
        let national_mediator = insert_account(
            &db,
            "mediator@demo.redress.example",
            "调解员",
            Role::Mediator,
            None,
            Some(national.model.id),
            &hash,
            now,
        )
        .await?;
        let beijing_mediator = insert_account(
            &db,
            "mediator-beijing@demo.redress.example",
            "北京调解员",
            Role::Mediator,
            None,
            Some(beijing.model.id),
            &hash,
            now,
        )
        .await?;

        let mut learners = Vec::new();
        let demo_learner = insert_account(
            &db,
            "learner@demo.redress.example",
            "陈晓东",
            Role::Learner,
            None,
            None,
            &hash,
            now,
        )
        .await?;
        learners.push((demo_learner, "陈晓东".to_owned()));
        for n in 0..600 {
            let name = self.name();
            let p = insert_account(
                &db,
                &format!("learner{n:04}@demo.redress.example"),
                &name,
                Role::Learner,
                None,
                None,
                &hash,
                now,
            )
            .await?;
            learners.push((p, name));
        }

        let credentials = vec![
            Credential {
                role: "admin",
                email: "admin@demo.redress.example".into(),
                note: String::new(),
            },
            Credential {
                role: "regulator",
                email: "regulator@demo.redress.example".into(),
                note: String::new(),
            },
            Credential {
                role: "mediator",
                email: "mediator@demo.redress.example".into(),
                note: "中国消费者协会 (national)".into(),
            },
            Credential {
                role: "institution_staff",
                email: "staff00@demo.redress.example".into(),
                note: institutions[0].model.name.clone(),
            },
            Credential {
                role: "learner",
                email: "learner@demo.redress.example".into(),
                note: "has cases of their own".into(),
            },
        ];
        Ok(World {
            institutions,
            learners,
            regulator,
            mediators: vec![national_mediator, beijing_mediator],
            credentials,
        })
    }

    /// Files `n` cases spread over the history and plays each one's story, in time
    /// order, with the SLA sweeper running twice a simulated day.
    async fn cases(&mut self, world: &World, n: usize) -> anyhow::Result<usize> {
        let span = (self.end - Duration::days(2) - self.start).num_minutes();
        let total_weight: f64 = world.institutions.iter().map(|i| i.weight).sum();
        let mut queue: BinaryHeap<Reverse<Scheduled>> = BinaryHeap::new();
        let mut plans: Vec<Plan> = Vec::with_capacity(n);
        let mut seq = 0u64;
        for case in 0..n {
            let at = self.start + Duration::minutes(self.rng.random_range(0..span.max(1)));
            let mut pick = self.rng.random::<f64>() * total_weight;
            let mut inst = 0;
            for (i, x) in world.institutions.iter().enumerate() {
                pick -= x.weight;
                if pick <= 0.0 {
                    inst = i;
                    break;
                }
            }
            // The demo learner files a few; the others share the rest.
            let learner = if case % 400 == 7 {
                0
            } else {
                self.rng.random_range(1..world.learners.len())
            };
            let plan = self.plan(at, inst, learner, world.institutions[inst].diligence);
            for (i, (t, _)) in plan.steps.iter().enumerate() {
                seq += 1;
                queue.push(Reverse((*t, seq, case, i)));
            }
            plans.push(plan);
        }

        let bar = ProgressBar::new(queue.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} loading demo [{bar:40}] {pos}/{len} steps ({eta} left) {msg}",
            )?
            .progress_chars("=> "),
        );
        let mut ids: Vec<Option<Uuid>> = vec![None; n];
        let mut next_sweep = self.start + Duration::hours(12);
        while let Some(Reverse((at, _, case, step))) = queue.pop() {
            while next_sweep <= at {
                self.sweep(next_sweep).await?;
                next_sweep += Duration::hours(12);
            }
            self.clock.set(at);
            let plan = &plans[case];
            let inst = &world.institutions[plan.institution];
            let (learner, learner_name) = &world.learners[plan.learner];
            let step = plan.steps[step].1.clone();
            match self
                .perform(&step, ids[case], inst, learner, learner_name, world)
                .await
            {
                Ok(Some(id)) => ids[case] = Some(id),
                Ok(None) => {}
                // The case moved on (a timer fired first, say): the story adapts.
                Err(ApiError::Conflict { .. }) => {}
                Err(e) => return Err(anyhow::anyhow!("demo step {step:?}: {e}")),
            }
            bar.inc(1);
        }
        while next_sweep <= self.end {
            self.sweep(next_sweep).await?;
            next_sweep += Duration::hours(12);
        }
        self.clock.set(self.end);
        bar.finish_with_message("done");
        Ok(ids.iter().filter(|i| i.is_some()).count())
    }

    async fn sweep(&mut self, at: DateTime<Utc>) -> anyhow::Result<()> {
        self.clock.set(at);
        loop {
            let s = sla::run_once(&self.state.db, &self.state.rules(), 1000).await?;
            if s.claimed == 0 {
                return Ok(());
            }
        }
    }

    async fn perform(
        &mut self,
        step: &Step,
        id: Option<Uuid>,
        inst: &Inst,
        learner: &Principal,
        learner_name: &str,
        world: &World,
    ) -> Result<Option<Uuid>, ApiError> {
        let db = self.state.db.clone();
        let rules = self.state.rules();
        let staff = &inst.staff;
        if let Step::File(f) = step {
            let new = self.complaint(f, &inst.model, learner_name);
            let mut rules = rules.clone();
            rules.intake_review = f.intake;
            let filing = complaints::Filing {
                rules,
                who: learner.clone(),
                new,
                idem: None,
            };
            let (case, _) = complaints::file(&db, filing).await?;
            return Ok(Some(case.id));
        }
        let Some(id) = id else { return Ok(None) };
        let act = |who: &Principal, input: ActionInput| {
            let (db, rules, who) = (db.clone(), rules.clone(), who.clone());
            async move { complaints::act(&db, &rules, &who, id, input).await }
        };
        match step {
            Step::File(_) => {}
            Step::AcceptIntake => {
                act(&world.regulator, ActionInput::AcceptIntake).await?;
            }
            Step::Respond(remedy) => {
                let answer = answer(*remedy, &mut self.rng);
                act(staff, ActionInput::Respond(answer)).await?;
            }
            Step::RequestInfo => {
                act(
                    staff,
                    ActionInput::RequestInfo {
                        questions: "请提供订单号和付款截图，以便核实。".into(),
                    },
                )
                .await?;
            }
            Step::ProvideInfo => {
                act(
                    learner,
                    ActionInput::ProvideInfo {
                        answer: "订单号已上传，付款记录见附件说明。".into(),
                    },
                )
                .await?;
            }
            Step::Accept => {
                act(learner, ActionInput::AcceptResponse).await?;
            }
            Step::Escalate => {
                act(
                    learner,
                    ActionInput::Escalate {
                        reason: "机构的答复不能解决问题，申请消协调解。".into(),
                    },
                )
                .await?;
            }
            Step::Dispute => {
                act(
                    learner,
                    ActionInput::Dispute {
                        reason: "机构承诺的退款至今未到账。".into(),
                    },
                )
                .await?;
            }
            Step::Withdraw => {
                act(
                    learner,
                    ActionInput::Withdraw {
                        reason: Some("已与机构私下协商解决。".into()),
                    },
                )
                .await?;
            }
            Step::Reject => {
                act(
                    &world.regulator,
                    ActionInput::Reject {
                        reason: RejectReason::NotOnlineEducation,
                        note: "线下培训机构，不属于在线教育投诉范围。".into(),
                    },
                )
                .await?;
            }
            Step::Message(from_learner) => {
                let (who, text) = if *from_learner {
                    (learner, "请问什么时候能处理？已经等了好几天了。")
                } else {
                    (staff, "您好，我们已收到您的投诉，正在核实课程记录。")
                };
                complaints::message(&db, &rules, who, id, text.into()).await?;
            }
            Step::Rate(score) => {
                complaints::rate(&db, &rules, learner, id, *score, None).await?;
            }
            Step::Mediate(m) => {
                // A mediation step that no longer fits the case (it was settled,
                // withdrawn, timed out, never escalated) is skipped like any other.
                match self.mediate(*m, id, staff, learner, world).await {
                    Ok(()) | Err(ApiError::NotFound | ApiError::Forbidden(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            Step::PublicResponse(kind) => {
                let text = match kind {
                    PublicResponseKind::DisputesTheFacts => {
                        "经核实，学员已完成全部课时，退费条件不成立。"
                    }
                    PublicResponseKind::ResolvedWithTheLearner => "已与学员协商一致并完成退款。",
                    PublicResponseKind::ActedOnTheFeedback => "已更换授课老师，并完善了排课提醒。",
                    _ => "我们正在核查此事。",
                };
                open_data::set_public_response(&db, staff, id, *kind, text.into(), rules.now)
                    .await?;
            }
        }
        Ok(None)
    }

    /// One step of a mediation, by whoever takes it.
    async fn mediate(
        &mut self,
        step: MediationStep,
        id: Uuid,
        staff: &Principal,
        learner: &Principal,
        world: &World,
    ) -> Result<(), ApiError> {
        let db = self.state.db.clone();
        let rules = self.state.rules();
        let case = entity::complaint::Entity::find_by_id(id)
            .one(&db)
            .await?
            .ok_or(ApiError::NotFound)?;
        let mediator = world
            .mediators
            .iter()
            .find(|m| m.association_id.is_some() && m.association_id == case.association_id)
            .ok_or(ApiError::NotFound)?;
        let open_offer = |side: &'static str| {
            let db = db.clone();
            async move {
                Ok::<_, ApiError>(
                    entity::offer::Entity::find()
                        .filter(entity::offer::Column::ComplaintId.eq(id))
                        .filter(entity::offer::Column::Side.eq(side))
                        .filter(entity::offer::Column::Status.eq(entity::offer::OfferStatus::Open))
                        .one(&db)
                        .await?
                        .map(|o| o.id),
                )
            }
        };
        match step {
            MediationStep::Claim => {
                mediation::assign(&db, &rules, mediator, id, None).await?;
            }
            MediationStep::InstitutionOffers { refund } => {
                let term = if refund {
                    Term::Refund {
                        amount_minor: self.rng.random_range(5..60) * 10_000,
                    }
                } else {
                    Term::ClassHourCredit {
                        hours: self.rng.random_range(4..20),
                    }
                };
                let offer = mediation::NewOffer {
                    on_behalf_of: None,
                    terms: vec![term],
                    expires_at: rules.now + Duration::days(10),
                    note: Some("经调解员沟通，机构提出以下方案。".into()),
                };
                mediation::offer(&db, &rules, staff, id, offer).await?;
            }
            MediationStep::LearnerDeclines => {
                if let Some(offer) = open_offer("institution").await? {
                    let reason = "金额与实际未上课时不符。".to_owned();
                    mediation::decline_offer(&db, &rules, learner, id, offer, reason).await?;
                }
            }
            MediationStep::LearnerAccepts => {
                if let Some(offer) = open_offer("institution").await? {
                    mediation::accept_offer(&db, &rules, learner, id, offer).await?;
                }
            }
            MediationStep::Fulfil => {
                mediation::report_settlement(
                    &db,
                    &rules,
                    staff,
                    id,
                    mediation::SettlementReport::Fulfilled,
                )
                .await?;
            }
            MediationStep::Confirm => {
                mediation::report_settlement(
                    &db,
                    &rules,
                    learner,
                    id,
                    mediation::SettlementReport::Confirmed,
                )
                .await?;
            }
            MediationStep::Close => {
                let holder = world
                    .mediators
                    .iter()
                    .find(|m| Some(m.account_id) == case.mediator_id)
                    .ok_or(ApiError::NotFound)?;
                mediation::close_unresolved(
                    &db,
                    &rules,
                    holder,
                    id,
                    mediation::Referral::Arbitration,
                    "双方未能达成一致，建议申请仲裁。".into(),
                )
                .await?;
            }
        }
        Ok(())
    }

    fn complaint(&mut self, f: &Filing, inst: &institution::Model, learner: &str) -> NewComplaint {
        let course = *COURSES.choose(&mut self.rng).unwrap_or(&COURSES[0]);
        let price = self.rng.random_range(8..120) * 100; // yuan
        let hours = self.rng.random_range(20..160);
        let used = self.rng.random_range(0..hours / 2);
        let phone = format!(
            "13{}{:08}",
            self.rng.random_range(0..10),
            self.rng.random_range(0..100_000_000u32)
        );
        let teacher = *SURNAMES.choose(&mut self.rng).unwrap_or(&"王");
        let narrative = if f.english {
            format!(
                "I bought the \"{course}\" course from {} for {price} yuan ({hours} class hours). \
                 After {used} hours the teacher stopped showing up and the app no longer lists \
                 my classes. My name is {learner}; call me on {phone} or write to \
                 learner{}@example.com. I asked for a refund of the unused hours but nobody answers.",
                inst.name,
                self.rng.random_range(100..999)
            )
        } else {
            match f.category {
                Category::Refund | Category::ServiceStopped => format!(
                    "我于{}购买了{}的“{course}”，共{hours}课时，支付{price}元。上了{used}课时后\
                     {teacher}老师不再上课，客服也联系不上。我是{learner}，电话{phone}，\
                     要求退还未上课时的费用。",
                    f.purchase.format("%Y年%-m月%-d日"),
                    inst.name
                ),
                Category::FalseAdvertising => format!(
                    "机构宣传“{course}”保证提分30分、名师授课，实际是录播课，老师也没有资质。\
                     我花了{price}元，要求按宣传承诺退款。联系微信：wx_{}。",
                    self.rng.random_range(10_000..99_999)
                ),
                Category::TrainingLoan => format!(
                    "报名时顾问让我办理了培训贷，分24期每月还款{}元，课程质量很差。\
                     我想退课并解除贷款合同。我的电话{phone}。",
                    price / 24
                ),
                _ => format!(
                    "“{course}”排课混乱，经常临时取消，{teacher}老师换了三次。\
                     已付{price}元，剩余{}课时无法正常上课，希望机构给出解决方案。",
                    hours - used
                ),
            }
        };
        let prepaid_minor = i64::from(price) * 100;
        NewComplaint {
            institution_id: inst.id,
            category: f.category,
            title: format!("{course}：{}", category_title(f.category)),
            narrative,
            desired_remedy: f.desired,
            desired_amount_minor: (f.desired == DesiredRemedy::PartialRefund)
                .then_some(prepaid_minor / 2),
            currency: "CNY".into(),
            amount_in_dispute_minor: Some(prepaid_minor),
            course_reference: Some(course.to_owned()),
            purchase_date: Some(f.purchase),
            prepaid_minor: Some(prepaid_minor),
            hours_bought: Some(hours as u32),
            hours_used: Some(used as u32),
            prepaid_period_days: Some(self.rng.random_range(30..365)),
            minor: None,
            consent_to_publish: f.consent,
        }
    }

    /// A case's story: filing, then steps at offsets from it.
    fn plan(
        &mut self,
        at: DateTime<Utc>,
        institution: usize,
        learner: usize,
        diligence: f64,
    ) -> Plan {
        let r = &mut self.rng;
        let category = *[
            Category::Refund,
            Category::Refund,
            Category::Refund,
            Category::ServiceStopped,
            Category::FalseAdvertising,
            Category::CourseQuality,
            Category::CourseQuality,
            Category::TeacherQualification,
            Category::ContractTerms,
            Category::TrainingLoan,
            Category::PersonalInformation,
            Category::Other,
        ]
        .choose(r)
        .unwrap_or(&Category::Refund);
        let desired = match category {
            Category::Refund | Category::ServiceStopped | Category::TrainingLoan => {
                if r.random_bool(0.6) {
                    DesiredRemedy::FullRefund
                } else {
                    DesiredRemedy::PartialRefund
                }
            }
            Category::CourseQuality => DesiredRemedy::ClassHourCredit,
            _ => DesiredRemedy::ExplanationOrApology,
        };
        let purchase = (at - Duration::days(r.random_range(20..300))).date_naive();
        let filing = Filing {
            category,
            desired,
            purchase,
            consent: r.random_bool(0.7),
            english: r.random_bool(0.12),
            intake: r.random_bool(0.06),
        };
        let day = |d: f64| Duration::minutes((d * 24.0 * 60.0) as i64);
        let intake = filing.intake;
        let filed = at;
        let mut steps = vec![(at, Step::File(filing))];
        // A few cases pass a regulator's intake review first (the deployment-wide
        // setting is off; the demo shows both paths). The story runs from acceptance.
        let at = if intake {
            let accepted = at + day(r.random_range(0.3..4.0));
            steps.push((accepted, Step::AcceptIntake));
            accepted
        } else {
            at
        };
        // How quickly this institution answers: diligent ones within days; others late,
        // some never (the deadline passes and the case goes to mediation).
        let answers = r.random_bool(0.6 + 0.38 * diligence);
        let answer_after = if r.random_bool(diligence) {
            r.random_range(0.2..6.0)
        } else {
            r.random_range(6.0..16.0)
        };
        let remedy = match (desired, r.random_range(0..10)) {
            (DesiredRemedy::FullRefund | DesiredRemedy::PartialRefund, 0..=5) => {
                ResponseRemedy::Refund
            }
            (DesiredRemedy::ClassHourCredit, 0..=6) => ResponseRemedy::ClassHourCredit,
            (_, 0..=1) => ResponseRemedy::CourseTransfer,
            _ => ResponseRemedy::Explanation,
        };
        let story = r.random_range(0..100);
        let mut t = day(answer_after);
        match story {
            0..=6 => steps.push((at + day(r.random_range(0.5..5.0)), Step::Withdraw)),
            7..=9 => steps.push((at + day(r.random_range(0.5..3.0)), Step::Reject)),
            10..=21 if answers => {
                let asked = day(r.random_range(0.3..3.0));
                steps.push((at + asked, Step::RequestInfo));
                if r.random_bool(0.8) {
                    steps.push((
                        at + asked + day(r.random_range(0.5..6.0)),
                        Step::ProvideInfo,
                    ));
                }
                t = asked + day(r.random_range(7.0..16.0));
                steps.push((at + t, Step::Respond(remedy)));
                steps.push((at + t + day(r.random_range(1.0..6.0)), Step::Accept));
            }
            _ if answers => {
                steps.push((at + t, Step::Respond(remedy)));
                let reply = at + t + day(r.random_range(0.5..10.0));
                match (remedy, r.random_range(0..100)) {
                    (ResponseRemedy::Explanation, 0..=44) | (_, 0..=11) => {
                        steps.push((reply, Step::Escalate))
                    }
                    (_, 12..=24) => {} // silence: the response deadline resolves it
                    (_, 25..=31) => {
                        steps.push((reply, Step::Accept));
                        steps.push((reply + day(r.random_range(2.0..12.0)), Step::Dispute));
                    }
                    _ => steps.push((reply, Step::Accept)),
                }
            }
            _ => {} // never answers
        }
        // Cases that reach mediation (escalated, disputed, or past the institution's
        // deadline) are claimed by the association's mediator; most settle, some end
        // without agreement, a few run out of time. Steps that do not fit the case as it
        // turned out are skipped.
        let waited = steps.iter().map(|(w, _)| *w).max().unwrap_or(filed);
        let m = (waited.max(filed + day(16.0))) + day(r.random_range(0.5..3.0));
        steps.push((m, Step::Mediate(MediationStep::Claim)));
        match r.random_range(0..100) {
            0..=59 => {
                let refund = r.random_bool(0.7);
                let mut t = m + day(r.random_range(1.0..5.0));
                steps.push((
                    t,
                    Step::Mediate(MediationStep::InstitutionOffers { refund }),
                ));
                if r.random_bool(0.4) {
                    t += day(r.random_range(1.0..4.0));
                    steps.push((t, Step::Mediate(MediationStep::LearnerDeclines)));
                    t += day(r.random_range(1.0..5.0));
                    steps.push((
                        t,
                        Step::Mediate(MediationStep::InstitutionOffers { refund: true }),
                    ));
                }
                t += day(r.random_range(1.0..4.0));
                steps.push((t, Step::Mediate(MediationStep::LearnerAccepts)));
                if r.random_bool(0.85) {
                    t += day(r.random_range(2.0..12.0));
                    steps.push((t, Step::Mediate(MediationStep::Fulfil)));
                    t += day(r.random_range(1.0..6.0));
                    steps.push((t, Step::Mediate(MediationStep::Confirm)));
                }
            }
            60..=84 => {
                steps.push((
                    m + day(r.random_range(10.0..40.0)),
                    Step::Mediate(MediationStep::Close),
                ));
            }
            _ => {} // mediation runs out of time
        }
        if r.random_bool(0.08) {
            steps.push((waited + day(r.random_range(15.0..60.0)), Step::Withdraw));
        }
        if r.random_bool(0.4) {
            for _ in 0..r.random_range(1..4) {
                let when =
                    at + day(r.random_range(0.1..(t.num_minutes() as f64 / 1440.0).max(0.2)));
                steps.push((when, Step::Message(r.random_bool(0.6))));
            }
        }
        let last = steps.iter().map(|(w, _)| *w).max().unwrap_or(filed);
        if r.random_bool(0.55) {
            // Rated after closure; refused (and skipped) if the case is still open.
            let score = match remedy {
                ResponseRemedy::Refund => r.random_range(3..=5),
                ResponseRemedy::Explanation => r.random_range(1..=3),
                _ => r.random_range(2..=5),
            };
            steps.push((last + day(r.random_range(20.0..40.0)), Step::Rate(score)));
        }
        if answers && r.random_bool(0.15) {
            let kind = *[
                PublicResponseKind::DisputesTheFacts,
                PublicResponseKind::ResolvedWithTheLearner,
                PublicResponseKind::ResolvedWithTheLearner,
                PublicResponseKind::ActedOnTheFeedback,
                PublicResponseKind::UnderReview,
            ]
            .choose(r)
            .unwrap_or(&PublicResponseKind::UnderReview);
            steps.push((at + t + day(1.0), Step::PublicResponse(kind)));
        }
        let end = self.end;
        steps.retain(|(w, _)| *w < end);
        Plan {
            institution,
            learner,
            steps,
        }
    }
}

#[derive(Debug, Clone)]
struct Filing {
    category: Category,
    desired: DesiredRemedy,
    purchase: NaiveDate,
    consent: bool,
    english: bool,
    intake: bool,
}

#[derive(Debug, Clone)]
enum Step {
    File(Filing),
    AcceptIntake,
    Respond(ResponseRemedy),
    RequestInfo,
    ProvideInfo,
    Accept,
    Escalate,
    Dispute,
    Withdraw,
    Reject,
    /// From the learner (true) or the institution (false).
    Message(bool),
    Rate(u8),
    PublicResponse(PublicResponseKind),
    Mediate(MediationStep),
}

#[derive(Debug, Clone, Copy)]
enum MediationStep {
    Claim,
    InstitutionOffers { refund: bool },
    LearnerDeclines,
    LearnerAccepts,
    Fulfil,
    Confirm,
    Close,
}

/// (when, tie-breaker, case, step)
type Scheduled = (DateTime<Utc>, u64, usize, usize);

struct Plan {
    institution: usize,
    learner: usize,
    steps: Vec<(DateTime<Utc>, Step)>,
}

fn answer(remedy: ResponseRemedy, rng: &mut StdRng) -> Answer {
    let (message, refund, hours) = match remedy {
        ResponseRemedy::Refund => (
            "经核实，同意退还未使用课时的费用，款项将在7个工作日内原路退回。",
            Some(rng.random_range(5..80) * 10_000),
            None,
        ),
        ResponseRemedy::ClassHourCredit => (
            "为表歉意，为您补偿课时，并更换授课老师。",
            None,
            Some(rng.random_range(2..12)),
        ),
        ResponseRemedy::CourseTransfer => ("可为您免费转到同级别的其他课程。", None, None),
        _ => (
            "根据合同约定，已开课超过三分之一不予退费，详见服务协议第五条。",
            None,
            None,
        ),
    };
    Answer {
        message: message.into(),
        remedy,
        refund_minor: refund,
        class_hours: hours,
        detail: None,
    }
}

fn category_title(c: Category) -> &'static str {
    crate::api::complaints::category_labels(c).0
}

fn parse_region(code: &str) -> anyhow::Result<RegionCode> {
    RegionCode::parse(code).map_err(anyhow::Error::msg)
}

fn disclosure(name: &str, n: usize) -> Disclosure {
    let fee = 1_980 + (n as i64 % 7) * 500;
    Disclosure {
        service_rules: format!(
            "{name}提供在线直播与录播课程。每节课40分钟，开课前24小时可免费调课；\
             教学计划与课表在App“我的课程”中公示。"
        ),
        fees_and_prepayment: format!(
            "标准课包{fee}元/60课时。预收费用不超过60课时，且不超过3个月；\
             预收资金存入监管账户。"
        ),
        refund_policy: "开课前申请全额退款；开课后按未消耗课时退费，7个工作日内原路退回。".into(),
        teacher_qualifications: "所有学科类教师持有教师资格证，资格证编号在课程详情页公示。".into(),
        complaint_contact: format!(
            "客服电话 400-800-{:04}（工作日9:00–18:00）；邮箱 service@inst{n:02}.example.cn",
            1000 + n * 13
        ),
    }
}

/// Inserts an account with an already computed password hash (hashing hundreds of
/// demo passwords one by one would take minutes).
#[allow(clippy::too_many_arguments)]
async fn insert_account(
    db: &impl ConnectionTrait,
    email: &str,
    display_name: &str,
    role: Role,
    institution_id: Option<Uuid>,
    association_id: Option<Uuid>,
    hash: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Principal> {
    let id = Uuid::now_v7();
    account::Entity::insert(account::ActiveModel {
        id: Set(id),
        email: Set(email.to_owned()),
        password_hash: Set(hash.to_owned()),
        display_name: Set(display_name.to_owned()),
        role: Set(role),
        institution_id: Set(institution_id),
        association_id: Set(association_id),
        created_at: Set(now),
        language: Set(None),
    })
    .exec(db)
    .await?;
    Ok(Principal {
        account_id: id,
        role,
        institution_id,
        association_id,
    })
}
