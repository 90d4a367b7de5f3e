import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { Metrics } from "../../src/ops/metrics.ts";

Deno.test("counters, histograms and gauges render in the Prometheus text format", async () => {
  const metrics = new Metrics();
  const requests = metrics.counter("t_requests_total", "Requests.", ["route", "status"]);
  const latency = metrics.histogram("t_duration_seconds", "Latency.", ["route"]);
  metrics.gauge("t_contacts", "Contacts.", () => 7);
  metrics.gauge("t_broken", "Fails.", () => {
    throw new Error("store down");
  });
  requests.inc("/a", "200");
  requests.inc("/a", "200");
  requests.inc("/b", "404");
  latency.observe(0.003, "/a");
  assertEquals(requests.value("/a", "200"), 2);
  assertEquals(requests.value("/c", "200"), 0);
  const text = await metrics.render();
  assertMatch(text, /# TYPE t_requests_total counter/);
  assertMatch(text, /t_requests_total\{route="\/a",status="200"\} 2/);
  assertMatch(text, /t_requests_total\{route="\/b",status="404"\} 1/);
  assertMatch(text, /t_duration_seconds_bucket\{le="0.0025",route="\/a"\} 0/);
  assertMatch(text, /t_duration_seconds_bucket\{le="0.005",route="\/a"\} 1/);
  assertMatch(text, /t_duration_seconds_count\{route="\/a"\} 1/);
  assertMatch(text, /t_contacts 7/);
  // prom-client writes "Nan"; Prometheus reads NaN in any case.
  assertMatch(text, /t_broken nan\n/i);
  assert(!text.includes("process_resident_memory_bytes"));
  assertEquals(metrics.contentType, "text/plain; version=0.0.4; charset=utf-8");
});

Deno.test("each registry is its own: two in one process declare the same names", async () => {
  const one = new Metrics();
  const two = new Metrics();
  one.counter("t_same_total", "Same.").inc();
  two.counter("t_same_total", "Same.");
  assertMatch(await one.render(), /t_same_total 1/);
  assertMatch(await two.render(), /t_same_total 0/);
});

Deno.test("the process metrics include resident memory and event-loop lag", async () => {
  const metrics = new Metrics({ processMetrics: true });
  const text = await metrics.render();
  const rss = /^process_resident_memory_bytes (\d+)$/m.exec(text);
  assert(rss !== null, "process_resident_memory_bytes is missing");
  assert(Number(rss[1]) > 1024 * 1024, "resident memory is reported, not 0");
  assertMatch(text, /^nodejs_eventloop_lag_seconds /m);
  assertMatch(text, /^nodejs_heap_size_used_bytes /m);
  // Read from /proc/self, which the start task's flags do not open: absent, not 0.
  assert(!/^process_open_fds /m.test(text));
});

Deno.test("a recording with the wrong number of label values names the metric", () => {
  const metrics = new Metrics();
  const counter = metrics.counter("t_labelled_total", "L.", ["a", "b"]);
  let message = "";
  try {
    counter.inc("only-one");
  } catch (error) {
    message = String(error);
  }
  assertMatch(message, /t_labelled_total takes 2 label value\(s\) \(a, b\), got 1/);
});

Deno.test("counts recorded between scrapes add up across scrapes", async () => {
  const metrics = new Metrics();
  const counter = metrics.counter("t_scraped_total", "S.", ["kind"]);
  const latency = metrics.histogram("t_scraped_seconds", "S.");
  counter.inc("a");
  counter.inc("a");
  latency.observe(0.2);
  assertMatch(await metrics.render(), /t_scraped_total\{kind="a"\} 2/);
  counter.inc("a");
  counter.inc("b");
  latency.observe(10);
  const text = await metrics.render();
  assertMatch(text, /t_scraped_total\{kind="a"\} 3/);
  assertMatch(text, /t_scraped_total\{kind="b"\} 1/);
  assertMatch(text, /t_scraped_seconds_bucket\{le="0.25"\} 1/);
  assertMatch(text, /t_scraped_seconds_bucket\{le="5"\} 1/);
  assertMatch(text, /t_scraped_seconds_bucket\{le="\+Inf"\} 2/);
  assertMatch(text, /t_scraped_seconds_sum 10.2/);
  assertMatch(text, /t_scraped_seconds_count 2/);
  assertEquals(counter.value("a"), 3);
});

Deno.test("a counter kept elsewhere is read at scrape time and never goes down", async () => {
  const metrics = new Metrics();
  let total = 3;
  metrics.counterOf("t_dropped_total", "Dropped.", () => total);
  assertMatch(await metrics.render(), /# TYPE t_dropped_total counter\nt_dropped_total 3\n/);
  total = 5;
  assertMatch(await metrics.render(), /t_dropped_total 5\n/);
  total = 4; // a reset elsewhere never lowers a counter
  assertMatch(await metrics.render(), /t_dropped_total 5\n/);
});
