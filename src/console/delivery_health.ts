/**
 * Is anything broken with deliveries? (issue 21 item 1.) Pure: from the
 * last verified webhook, the rejected webhooks counted per hour and the last
 * rejection, it decides the overview's two delivery cards and their colour.
 *
 * - Rejected webhooks: red when one came in the last hour, amber in the last
 *   24 hours, green otherwise.
 * - Last verified webhook: during working hours (in the display zone), amber
 *   after `silenceMinutes` without one, red after twice that; outside working
 *   hours a silence is expected and stays green.
 */
import type { HourlyCounts } from "../ops/hourly_counters.ts";
import {
  REJECTION_REASON_LABELS,
  REJECTION_REASONS,
  type RejectionReason,
  type WebhookRejection,
} from "../ops/webhook_rejections.ts";
import { formatTimeIn, zonedParts } from "./display_time.ts";

/** When a silence matters. */
export interface SilencePolicy {
  /** 0 turns the silence check off. */
  readonly silenceMinutes: number;
  /** `HH:MM-HH:MM` in `zone`. */
  readonly workingHours: string;
  /** `mon` … `sun`. */
  readonly workingDays: readonly string[];
  readonly zone: string;
}

/** Rejected webhooks by reason over a window. */
export type RejectionCounts = Readonly<Record<RejectionReason, number>>;

/** One delivery card. */
export interface DeliveryCard {
  readonly label: string;
  readonly value: string;
  readonly state: "ok" | "warn" | "bad";
  readonly detail?: string;
  readonly href?: string;
}

/** Counts by reason over the last `hours` of `hourly` (newest last). */
export function rejectionCounts(hourly: readonly HourlyCounts[], hours: number): RejectionCounts {
  const counts: Record<RejectionReason, number> = {
    signature: 0,
    invalid: 0,
    too_large: 0,
    busy: 0,
  };
  for (const h of hourly.slice(-hours)) {
    for (const reason of REJECTION_REASONS) counts[reason] += h.counts[`rejected_${reason}`];
  }
  return counts;
}

/** Whether `now` falls in working hours under `policy`. */
export function inWorkingHours(now: number, policy: SilencePolicy): boolean {
  const parts = zonedParts(now, policy.zone);
  if (!policy.workingDays.includes(parts.weekday)) return false;
  const [from, to] = policy.workingHours.split("-").map((hm) => {
    const [h, m] = hm.split(":").map(Number);
    return (h ?? 0) * 60 + (m ?? 0);
  });
  return parts.minuteOfDay >= (from ?? 0) && parts.minuteOfDay < (to ?? 1440);
}

/** The two delivery cards. */
export function deliveryCards(input: {
  readonly now: number;
  readonly lastVerified: number | null;
  readonly hourly: readonly HourlyCounts[];
  readonly lastRejection: WebhookRejection | null;
  readonly policy: SilencePolicy;
}): DeliveryCard[] {
  const { now, policy } = input;
  const lastHour = rejectionCounts(input.hourly, 1);
  const lastDay = rejectionCounts(input.hourly, 24);
  const hourTotal = sum(lastHour);
  const dayTotal = sum(lastDay);
  const byReason = REJECTION_REASONS.filter((r) => lastDay[r] > 0)
    .map((r) => `${REJECTION_REASON_LABELS[r]}: ${lastDay[r]} (last hour ${lastHour[r]})`)
    .join("; ");
  const last = input.lastRejection;
  const rejected: DeliveryCard = {
    label: "Rejected webhooks",
    value: `${hourTotal} in the last hour, ${dayTotal} in 24 h`,
    state: hourTotal > 0 ? "bad" : dayTotal > 0 ? "warn" : "ok",
    detail: [
      byReason,
      last
        ? `Last: ${formatTimeIn(last.at, policy.zone)}, ${REJECTION_REASON_LABELS[last.reason]}`
        : "None recorded.",
    ].filter((s) => s !== "").join(". "),
    href: "/console/webhooks/rejected",
  };

  const working = inWorkingHours(now, policy);
  const silenceMs = policy.silenceMinutes * 60_000;
  let verified: DeliveryCard;
  if (input.lastVerified === null) {
    verified = {
      label: "Last verified webhook",
      value: "none yet",
      state: "warn",
      detail: "No verified webhook has arrived.",
    };
  } else {
    const age = now - input.lastVerified;
    const quiet = policy.silenceMinutes > 0 && working && age > silenceMs;
    verified = {
      label: "Last verified webhook",
      value: `${formatTimeIn(input.lastVerified, policy.zone)} (${ageInWords(age)} ago)`,
      state: !quiet ? "ok" : age > 2 * silenceMs ? "bad" : "warn",
      detail: policy.silenceMinutes === 0
        ? "The silence check is off (console.webhook_silence_minutes = 0)."
        : quiet
        ? `None for more than ${policy.silenceMinutes} min during working hours (${policy.workingHours}).`
        : working
        ? `Within ${policy.silenceMinutes} min, working hours ${policy.workingHours}.`
        : `Outside working hours (${policy.workingHours}); a silence is expected.`,
    };
  }
  return [verified, rejected];
}

function sum(counts: RejectionCounts): number {
  return REJECTION_REASONS.reduce((total, r) => total + counts[r], 0);
}

function ageInWords(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}
