import { assertEquals } from "../helpers/assert.ts";
import { applierLagOf } from "../../bench/during_import_bench.ts";

Deno.test("the bench reads the largest applier lag from a metrics page, with or without labels", () => {
  const page = [
    "# HELP symbo_crm_applier_lag_seconds Seconds the store is behind the audit log.",
    "# TYPE symbo_crm_applier_lag_seconds gauge",
    'symbo_crm_applier_lag_seconds{instance="a"} 0.25',
    "symbo_crm_applier_lag_seconds 1.5",
    "symbo_crm_applier_lag_seconds_total 99",
    "symbo_crm_applier_lag_events 7",
  ].join("\n");
  assertEquals(applierLagOf(page), 1.5);
});

Deno.test("the bench reports no applier lag when the gauge is absent", () => {
  assertEquals(applierLagOf("symbo_crm_contacts 10\n"), null);
});
