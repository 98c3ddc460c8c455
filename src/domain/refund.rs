//! Refund estimate for prepaid online training.
//!
//! The rule applied (common to Chinese consumer associations and local regulations on
//! off-campus and online training): if the course has not started, everything paid is
//! refunded; once it has started, the unused class hours are refunded pro rata
//! (`paid × unused hours / hours bought`), rounded down to the minor unit.
//! Prepayment beyond the limits for online training (more than 60 class hours, or a period
//! longer than 3 months, taken as 90 days) is flagged with warnings; warnings never change
//! the amount.
//!
//! This is an estimate for a complaint, not a ruling: contracts, platform terms and local
//! rules may differ.

use serde::{Deserialize, Serialize};

/// Most class hours that may be prepaid for online training.
pub const MAX_PREPAID_HOURS: u32 = 60;
/// Longest prepaid period for online training, in days (3 months).
pub const MAX_PREPAID_DAYS: u32 = 90;

/// Facts about one purchase. Money is in minor units (e.g. fen for CNY).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct RefundInput {
    /// Amount actually paid, in minor units; must not be negative.
    pub paid_minor: i64,
    /// ISO 4217 code: three uppercase ASCII letters, e.g. `CNY`.
    pub currency: String,
    /// Class hours bought; must be at least 1.
    pub hours_bought: u32,
    /// Class hours already taken; at most `hours_bought`, and 0 if the course has not started.
    pub hours_used: u32,
    /// Days since the purchase. Recorded for context; it does not change the estimate.
    pub days_since_purchase: u32,
    /// Whether teaching has begun.
    pub course_started: bool,
    /// Length of the prepaid service period in days, if the purchase covers a period.
    pub prepaid_period_days: Option<u32>,
}

/// Why the estimate was refused; [`RefundInputError::field`] names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundInputError {
    /// `paid_minor` is below zero.
    #[error("amount paid must not be negative")]
    NegativeAmount,
    /// `currency` is not three uppercase ASCII letters.
    #[error("currency must be an ISO 4217 code of three uppercase letters")]
    BadCurrency,
    /// `hours_bought` is zero.
    #[error("hours bought must be at least 1")]
    ZeroHoursBought,
    /// `hours_used` is greater than `hours_bought`.
    #[error("hours used ({used}) exceed hours bought ({bought})")]
    HoursUsedExceedBought {
        /// Hours used as given.
        used: u32,
        /// Hours bought as given.
        bought: u32,
    },
    /// Hours were used although the course is said not to have started.
    #[error("hours used must be 0 when the course has not started")]
    HoursUsedBeforeStart,
    /// `prepaid_period_days` is `Some(0)`.
    #[error("prepaid period, when given, must be at least 1 day")]
    ZeroPrepaidPeriod,
}

impl RefundInputError {
    /// Name of the input field at fault, as in [`RefundInput`] (for 422 field errors).
    pub fn field(&self) -> &'static str {
        match self {
            Self::NegativeAmount => "paid_minor",
            Self::BadCurrency => "currency",
            Self::ZeroHoursBought => "hours_bought",
            Self::HoursUsedExceedBought { .. } | Self::HoursUsedBeforeStart => "hours_used",
            Self::ZeroPrepaidPeriod => "prepaid_period_days",
        }
    }
}

/// A prepayment beyond the limits for online training.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PrepaymentWarning {
    /// More than [`MAX_PREPAID_HOURS`] class hours were prepaid.
    ExceedsClassHours {
        /// Hours prepaid.
        hours: u32,
        /// The limit, [`MAX_PREPAID_HOURS`].
        limit: u32,
    },
    /// The prepaid period is longer than [`MAX_PREPAID_DAYS`].
    ExceedsPeriod {
        /// Days prepaid.
        days: u32,
        /// The limit, [`MAX_PREPAID_DAYS`].
        limit_days: u32,
    },
}

/// Which branch of the rule produced the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundBasis {
    /// Course not started: everything paid comes back.
    NotStartedFullRefund,
    /// Course started: unused hours refunded pro rata, rounded down.
    ProratedUnusedHours,
    /// Course started and every hour used: nothing to refund.
    NothingUnused,
}

/// The estimated refund and how it was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct RefundEstimate {
    /// Refund in minor units; between 0 and the amount paid.
    pub refund_minor: i64,
    /// Same currency as the input.
    pub currency: String,
    /// Hours not taken (all hours bought if the course has not started).
    pub unused_hours: u32,
    /// Which branch of the rule applied.
    pub basis: RefundBasis,
    /// Prepayment limits exceeded by this purchase.
    pub warnings: Vec<PrepaymentWarning>,
}

/// Checks `input` and estimates the refund. Errors are reported in field order
/// (`paid_minor`, `currency`, `hours_bought`, `hours_used`, `prepaid_period_days`).
pub fn estimate(input: &RefundInput) -> Result<RefundEstimate, RefundInputError> {
    validate(input)?;
    let warnings = prepayment_warnings(Some(input.hours_bought), input.prepaid_period_days);
    let unused_hours = input.hours_bought - input.hours_used;

    let (refund_minor, basis) = if !input.course_started {
        (input.paid_minor, RefundBasis::NotStartedFullRefund)
    } else if unused_hours == 0 {
        (0, RefundBasis::NothingUnused)
    } else {
        // i128: paid (< 2^63) × hours (< 2^32) cannot overflow. Both operands are
        // non-negative, so integer division rounds down.
        let prorated = i128::from(input.paid_minor) * i128::from(unused_hours)
            / i128::from(input.hours_bought);
        let prorated = i64::try_from(prorated).expect("prorated refund never exceeds amount paid");
        (prorated, RefundBasis::ProratedUnusedHours)
    };

    Ok(RefundEstimate {
        refund_minor,
        currency: input.currency.clone(),
        unused_hours,
        basis,
        warnings,
    })
}

/// Warnings for a filing's prepayment facts (used when a complaint is filed).
/// Unknown facts (`None`) give no warning; the limits themselves are allowed.
pub fn prepayment_warnings(
    hours_bought: Option<u32>,
    prepaid_period_days: Option<u32>,
) -> Vec<PrepaymentWarning> {
    let mut warnings = Vec::new();
    if let Some(hours) = hours_bought.filter(|&h| h > MAX_PREPAID_HOURS) {
        warnings.push(PrepaymentWarning::ExceedsClassHours {
            hours,
            limit: MAX_PREPAID_HOURS,
        });
    }
    if let Some(days) = prepaid_period_days.filter(|&d| d > MAX_PREPAID_DAYS) {
        warnings.push(PrepaymentWarning::ExceedsPeriod {
            days,
            limit_days: MAX_PREPAID_DAYS,
        });
    }
    warnings
}

fn validate(input: &RefundInput) -> Result<(), RefundInputError> {
    if input.paid_minor < 0 {
        return Err(RefundInputError::NegativeAmount);
    }
    if !is_currency_code(&input.currency) {
        return Err(RefundInputError::BadCurrency);
    }
    if input.hours_bought == 0 {
        return Err(RefundInputError::ZeroHoursBought);
    }
    if input.hours_used > input.hours_bought {
        return Err(RefundInputError::HoursUsedExceedBought {
            used: input.hours_used,
            bought: input.hours_bought,
        });
    }
    if !input.course_started && input.hours_used > 0 {
        return Err(RefundInputError::HoursUsedBeforeStart);
    }
    if input.prepaid_period_days == Some(0) {
        return Err(RefundInputError::ZeroPrepaidPeriod);
    }
    Ok(())
}

/// Three uppercase ASCII letters (the shape of an ISO 4217 code; not checked against the list).
fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn started(paid_minor: i64, hours_bought: u32, hours_used: u32) -> RefundInput {
        RefundInput {
            paid_minor,
            currency: "CNY".to_string(),
            hours_bought,
            hours_used,
            days_since_purchase: 30,
            course_started: true,
            prepaid_period_days: None,
        }
    }

    fn not_started(paid_minor: i64, hours_bought: u32) -> RefundInput {
        RefundInput {
            course_started: false,
            hours_used: 0,
            ..started(paid_minor, hours_bought, 0)
        }
    }

    #[test]
    fn not_started_refunds_everything() {
        let est = estimate(&not_started(1_000_000, 100)).unwrap();
        assert_eq!(
            est,
            RefundEstimate {
                refund_minor: 1_000_000,
                currency: "CNY".to_string(),
                unused_hours: 100,
                basis: RefundBasis::NotStartedFullRefund,
                warnings: vec![PrepaymentWarning::ExceedsClassHours {
                    hours: 100,
                    limit: 60
                }],
            }
        );
    }

    #[test]
    fn quarter_used_refunds_three_quarters() {
        // 10000.00 CNY for 100 hours, 25 used → 7500.00 CNY.
        let est = estimate(&started(1_000_000, 100, 25)).unwrap();
        assert_eq!(est.refund_minor, 750_000);
        assert_eq!(est.unused_hours, 75);
        assert_eq!(est.basis, RefundBasis::ProratedUnusedHours);
    }

    #[test]
    fn prorating_rounds_down_to_the_fen() {
        // 100.00 for 3 hours, 1 used: 2/3 × 10000 = 6666.67 → 6666.
        assert_eq!(
            estimate(&started(10_000, 3, 1)).unwrap().refund_minor,
            6_666
        );
        // 2 used of 3: 1/3 × 10000 = 3333.33 → 3333.
        assert_eq!(
            estimate(&started(10_000, 3, 2)).unwrap().refund_minor,
            3_333
        );
        // 0.01 for 2 hours, 1 used: 0.005 → 0.
        assert_eq!(estimate(&started(1, 2, 1)).unwrap().refund_minor, 0);
        // 0.99 for 7 hours, 1 used: 6/7 × 99 = 84.857 → 84.
        assert_eq!(estimate(&started(99, 7, 1)).unwrap().refund_minor, 84);
    }

    #[test]
    fn started_but_nothing_used_is_full_prorated() {
        let est = estimate(&started(12_345, 10, 0)).unwrap();
        assert_eq!(est.refund_minor, 12_345);
        assert_eq!(est.basis, RefundBasis::ProratedUnusedHours);
    }

    #[test]
    fn all_hours_used_refunds_nothing() {
        let est = estimate(&started(500_000, 40, 40)).unwrap();
        assert_eq!(est.refund_minor, 0);
        assert_eq!(est.unused_hours, 0);
        assert_eq!(est.basis, RefundBasis::NothingUnused);
    }

    #[test]
    fn zero_paid_is_allowed() {
        assert_eq!(estimate(&started(0, 10, 3)).unwrap().refund_minor, 0);
        assert_eq!(estimate(&not_started(0, 10)).unwrap().refund_minor, 0);
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let est = estimate(&started(i64::MAX, u32::MAX, 1)).unwrap();
        let expected = i128::from(i64::MAX) * i128::from(u32::MAX - 1) / i128::from(u32::MAX);
        assert_eq!(i128::from(est.refund_minor), expected);
        assert_eq!(
            estimate(&started(i64::MAX, u32::MAX, 0))
                .unwrap()
                .refund_minor,
            i64::MAX
        );
    }

    #[test]
    fn each_bad_input_is_refused_with_its_field() {
        let cases: Vec<(RefundInput, RefundInputError, &str)> = vec![
            (
                started(-1, 10, 0),
                RefundInputError::NegativeAmount,
                "paid_minor",
            ),
            (
                RefundInput {
                    currency: "cny".into(),
                    ..started(100, 10, 0)
                },
                RefundInputError::BadCurrency,
                "currency",
            ),
            (
                RefundInput {
                    currency: "CN".into(),
                    ..started(100, 10, 0)
                },
                RefundInputError::BadCurrency,
                "currency",
            ),
            (
                RefundInput {
                    currency: "CNYX".into(),
                    ..started(100, 10, 0)
                },
                RefundInputError::BadCurrency,
                "currency",
            ),
            (
                RefundInput {
                    currency: "C1Y".into(),
                    ..started(100, 10, 0)
                },
                RefundInputError::BadCurrency,
                "currency",
            ),
            (
                RefundInput {
                    currency: "ÇNY".into(),
                    ..started(100, 10, 0)
                },
                RefundInputError::BadCurrency,
                "currency",
            ),
            (
                RefundInput {
                    currency: String::new(),
                    ..started(100, 10, 0)
                },
                RefundInputError::BadCurrency,
                "currency",
            ),
            (
                started(100, 0, 0),
                RefundInputError::ZeroHoursBought,
                "hours_bought",
            ),
            (
                started(100, 10, 11),
                RefundInputError::HoursUsedExceedBought {
                    used: 11,
                    bought: 10,
                },
                "hours_used",
            ),
            (
                RefundInput {
                    course_started: false,
                    ..started(100, 10, 1)
                },
                RefundInputError::HoursUsedBeforeStart,
                "hours_used",
            ),
            (
                RefundInput {
                    prepaid_period_days: Some(0),
                    ..started(100, 10, 1)
                },
                RefundInputError::ZeroPrepaidPeriod,
                "prepaid_period_days",
            ),
        ];
        for (input, err, field) in cases {
            let got = estimate(&input).unwrap_err();
            assert_eq!(got, err, "{input:?}");
            assert_eq!(got.field(), field);
            assert!(!got.to_string().is_empty());
        }
    }

    #[test]
    fn first_bad_field_wins() {
        let input = RefundInput {
            currency: "x".into(),
            ..started(-5, 0, 3)
        };
        assert_eq!(estimate(&input).unwrap_err().field(), "paid_minor");
    }

    #[test]
    fn hour_limit_is_inclusive() {
        assert!(prepayment_warnings(Some(60), None).is_empty());
        assert_eq!(
            prepayment_warnings(Some(61), None),
            vec![PrepaymentWarning::ExceedsClassHours {
                hours: 61,
                limit: MAX_PREPAID_HOURS
            }]
        );
    }

    #[test]
    fn period_limit_is_inclusive() {
        assert!(prepayment_warnings(None, Some(90)).is_empty());
        assert_eq!(
            prepayment_warnings(None, Some(91)),
            vec![PrepaymentWarning::ExceedsPeriod {
                days: 91,
                limit_days: MAX_PREPAID_DAYS
            }]
        );
    }

    #[test]
    fn unknown_facts_give_no_warning_and_both_can_fire() {
        assert!(prepayment_warnings(None, None).is_empty());
        assert_eq!(
            prepayment_warnings(Some(120), Some(365)),
            vec![
                PrepaymentWarning::ExceedsClassHours {
                    hours: 120,
                    limit: 60
                },
                PrepaymentWarning::ExceedsPeriod {
                    days: 365,
                    limit_days: 90
                },
            ]
        );
    }

    #[test]
    fn estimate_carries_warnings_without_changing_amount() {
        let input = RefundInput {
            prepaid_period_days: Some(180),
            ..started(1_000_000, 100, 25)
        };
        let est = estimate(&input).unwrap();
        assert_eq!(est.refund_minor, 750_000);
        assert_eq!(est.warnings.len(), 2);
        let within = RefundInput {
            prepaid_period_days: Some(90),
            ..started(600_000, 60, 0)
        };
        assert!(estimate(&within).unwrap().warnings.is_empty());
    }

    fn valid_started() -> impl Strategy<Value = RefundInput> {
        (0..=i64::MAX, prop_oneof![1..=200u32, 1..=u32::MAX])
            .prop_flat_map(|(paid, bought)| (Just(paid), Just(bought), 0..=bought))
            .prop_map(|(paid, bought, used)| started(paid, bought, used))
    }

    proptest! {
        #[test]
        fn refund_is_between_zero_and_paid(input in valid_started(), begun in any::<bool>()) {
            let input = if begun { input } else { not_started(input.paid_minor, input.hours_bought) };
            let est = estimate(&input).unwrap();
            prop_assert!(est.refund_minor >= 0);
            prop_assert!(est.refund_minor <= input.paid_minor);
            prop_assert_eq!(est.unused_hours, input.hours_bought - input.hours_used);
        }

        #[test]
        fn refund_does_not_grow_with_hours_used(
            (paid, bought, a, b) in (0..=i64::MAX, prop_oneof![1..=200u32, 1..=u32::MAX])
                .prop_flat_map(|(p, h)| (Just(p), Just(h), 0..=h, 0..=h))
        ) {
            let (fewer, more) = if a <= b { (a, b) } else { (b, a) };
            let r_fewer = estimate(&started(paid, bought, fewer)).unwrap().refund_minor;
            let r_more = estimate(&started(paid, bought, more)).unwrap().refund_minor;
            prop_assert!(r_more <= r_fewer);
        }

        #[test]
        fn refund_is_floor_of_exact_share(input in valid_started()) {
            let est = estimate(&input).unwrap();
            let unused = i128::from(input.hours_bought - input.hours_used);
            let bought = i128::from(input.hours_bought);
            let paid = i128::from(input.paid_minor);
            let r = i128::from(est.refund_minor);
            // r ≤ paid × unused / bought < r + 1
            prop_assert!(r * bought <= paid * unused);
            prop_assert!(paid * unused < (r + 1) * bought);
        }

        #[test]
        fn not_started_is_always_full(
            paid in 0..=i64::MAX,
            bought in 1..=u32::MAX,
            period in proptest::option::of(1..=u32::MAX),
        ) {
            let input = RefundInput { prepaid_period_days: period, ..not_started(paid, bought) };
            let est = estimate(&input).unwrap();
            prop_assert_eq!(est.refund_minor, paid);
            prop_assert_eq!(est.basis, RefundBasis::NotStartedFullRefund);
            prop_assert_eq!(est.unused_hours, bought);
        }
    }
}
