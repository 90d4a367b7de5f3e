/** Specification of webhook body classification (`src/calls/call_event.ts`). */
import assert from "node:assert/strict";
import { classifyEvent, InvalidEventError, readEvent } from "../../src/calls/call_event.ts";

const eventSummary = (text: string) => readEvent(text).summary;

const GUIDE_FIXTURE = new URL("../fixtures/symbo_guide_call_created.json", import.meta.url);

function body(value: unknown): string {
  return JSON.stringify(value);
}

function assertInvalid(bodyText: string, path: string, messagePart: string): void {
  assert.throws(() => classifyEvent(bodyText), (error: unknown) => {
    assert.ok(error instanceof InvalidEventError, "expected an InvalidEventError");
    assert.equal(error.path, path);
    assert.match(error.message, new RegExp(messagePart));
    return true;
  });
}

Deno.test("the guide's example is a call event keyed by data.id, with created_at kept raw", async () => {
  const event = classifyEvent(await Deno.readTextFile(GUIDE_FIXTURE));
  assert.equal(event.kind, "call");
  if (event.kind !== "call") return;
  assert.equal(event.eventType, "call.created");
  assert.equal(event.eventId, "ecc25304-ad56-4f73-b75c-77f3165c6c65");
  assert.equal(event.callId, "2dc92583-0376-469b-9909-3a020b75d777");
  assert.equal(event.userId, "35904adb-e732-4ee7-a450-a87dfbe8a7f5");
  assert.equal(event.createdAtRaw, "023-01-11T20:19:40.000Z");
  assert.equal(event.data.call_disposition, "answered_positive");
  assert.equal(event.envelope.object, "Call");
});

Deno.test("every call event name of both guides is a call event, its type kept as sent", async (t) => {
  for (
    const type of [
      "call.created",
      "call.updated",
      "call:created",
      "call:completed",
      "call:updated",
      "call:recording-completed",
      "CALL:UPDATED",
    ]
  ) {
    await t.step(type, () => {
      const event = classifyEvent(body({ id: "e1", event: type, data: { id: "c1" } }));
      assert.equal(event.kind, "call");
      assert.equal(event.eventType, type);
    });
  }
});

Deno.test("the event name is read from description, else event, type, event_type", async (t) => {
  for (const key of ["description", "event", "type", "event_type"]) {
    await t.step(key, () => {
      const event = classifyEvent(body({ [key]: "call:updated", data: { id: "c1" } }));
      assert.equal(event.kind, "call");
      assert.equal(event.eventType, "call:updated");
    });
  }
  await t.step("a known name in a later key beats free text in description", () => {
    const event = classifyEvent(
      body({ description: "A call was updated", event: "call:updated", data: { id: "c1" } }),
    );
    assert.equal(event.kind, "call");
    assert.equal(event.eventType, "call:updated");
  });
});

Deno.test("an object Call without a known event name is still a call event", () => {
  const event = classifyEvent(body({ object: "call", data: { id: "c1" } }));
  assert.equal(event.kind, "call");
  assert.equal(event.eventType, "call");
});

Deno.test("prospect events carry the prospect id and its external id", async (t) => {
  for (const type of ["prospect:created", "prospect.updated"]) {
    await t.step(type, () => {
      const event = classifyEvent(
        body({ id: "e2", event: type, user_id: "u1", data: { id: "p1", external_id: "12345" } }),
      );
      assert.equal(event.kind, "prospect");
      if (event.kind !== "prospect") return;
      assert.equal(event.prospectId, "p1");
      assert.equal(event.externalId, "12345");
      assert.equal(event.userId, "u1");
    });
  }
  await t.step("without external_id", () => {
    const event = classifyEvent(body({ event: "prospect:updated", data: { id: "p1" } }));
    assert.equal(event.kind === "prospect" ? event.externalId : "not a prospect", null);
  });
});

Deno.test("unknown events, unknown objects and the contact-lookup event are ignored", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ["unknown type", { event: "meeting:booked", data: { id: "m1" } }, /unknown event type/],
    ["unknown object", { object: "Meeting", data: { id: "m1" } }, /unknown object/],
    ["nothing to go on", { data: { id: "m1" } }, /no event type/],
    ["contact lookup", { event: "call:contactlookup", object: "Call" }, /contactlookup/],
  ];
  for (const [name, value, reason] of cases) {
    await t.step(name, () => {
      const event = classifyEvent(body(value));
      assert.equal(event.kind, "ignored");
      if (event.kind === "ignored") assert.match(event.reason, reason);
    });
  }
  await t.step("an ignored event keeps its id and type for the record", () => {
    const event = classifyEvent(body({ id: 7, event: "meeting:booked" }));
    assert.equal(event.eventId, "7");
    assert.equal(event.eventType, "meeting:booked");
  });
});

Deno.test("numeric ids are accepted and stringified", () => {
  const event = classifyEvent(
    body({ id: 42, event: "call:updated", user_id: 9, data: { id: 1001, prospect: {} } }),
  );
  assert.equal(event.kind, "call");
  if (event.kind !== "call") return;
  assert.equal(event.eventId, "42");
  assert.equal(event.callId, "1001");
  assert.equal(event.userId, "9");
});

Deno.test("a body that is not JSON is invalid, with the empty path", () => {
  assertInvalid("{not json", "", "not valid JSON");
});

Deno.test("a body that is not a JSON object is invalid at path body", () => {
  assertInvalid("[1,2]", "body", "^body: expected a JSON object");
  assertInvalid("null", "body", "^body: expected a JSON object");
});

Deno.test("a call event without an object data is invalid at path data", () => {
  assertInvalid(body({ event: "call:created" }), "data", "^data: expected an object");
  assertInvalid(body({ event: "call:created", data: [] }), "data", "^data: ");
});

Deno.test("a call or prospect event without a usable data.id is invalid at data.id", async (t) => {
  for (const id of [undefined, "", "   ", null, true, { x: 1 }]) {
    await t.step(`id ${JSON.stringify(id) ?? "missing"}`, () => {
      assertInvalid(
        body({ event: "call:created", data: { id } }),
        "data.id",
        "^data.id: expected a non-empty string",
      );
    });
  }
  await t.step("prospect", () => {
    assertInvalid(body({ event: "prospect:created", data: {} }), "data.id", "^data.id: ");
  });
});

Deno.test("unknown fields do not make an event invalid", () => {
  const event = classifyEvent(
    body({ event: "call:updated", brand_new: { x: 1 }, data: { id: "c1", extra: [1] } }),
  );
  assert.equal(event.kind, "call");
  if (event.kind === "call") assert.deepEqual(event.data.extra, [1]);
});

Deno.test("readEvent classifies once and says why an event is invalid", () => {
  const valid = readEvent(JSON.stringify({ id: "e", object: "Call", data: { id: "c" } }));
  assert.equal(valid.event?.kind, "call");
  assert.equal(valid.invalid, null);
  const invalid = readEvent(JSON.stringify({ id: "e", object: "Call", data: {} }));
  assert.equal(invalid.event, null);
  assert.ok(invalid.invalid instanceof InvalidEventError);
  assert.match(invalid.invalid.message, /data\.id/);
  const notUtf8 = readEvent(null);
  assert.equal(notUtf8.event, null);
  assert.match(notUtf8.invalid?.message ?? "", /UTF-8/);
});

Deno.test("readEvent's audit summary reads what it can and never throws", async (t) => {
  await t.step("a call event", async () => {
    const summary = eventSummary(await Deno.readTextFile(GUIDE_FIXTURE));
    assert.deepEqual(summary, {
      eventType: "call.created",
      eventId: "ecc25304-ad56-4f73-b75c-77f3165c6c65",
      callId: "2dc92583-0376-469b-9909-3a020b75d777",
      userId: "35904adb-e732-4ee7-a450-a87dfbe8a7f5",
    });
  });
  await t.step("an invalid call event has no call id but keeps the rest", () => {
    assert.deepEqual(eventSummary(body({ id: "e", event: "call:created", user_id: "u" })), {
      eventType: "call:created",
      eventId: "e",
      callId: null,
      userId: "u",
    });
  });
  await t.step("garbage", () => {
    for (const text of ["", "{", "[]", "42", '"x"']) {
      assert.deepEqual(eventSummary(text), {
        eventType: null,
        eventId: null,
        callId: null,
        userId: null,
      });
    }
  });
  await t.step("a prospect event has no call id", () => {
    assert.equal(eventSummary(body({ event: "prospect:created", data: { id: "p" } })).callId, null);
  });
});

Deno.test("numeric ids beyond 2^53 keep their exact digits", () => {
  // Two ids that one IEEE double cannot tell apart.
  const text =
    '{"id":9007199254740993,"user_id":12345678901234567891,"object":"Call","data":{"id":9007199254740995,"prospect":{"id":18446744073709551617}}}';
  const event = classifyEvent(text);
  assert.equal(event.kind, "call");
  if (event.kind !== "call") return;
  assert.equal(event.eventId, "9007199254740993");
  assert.equal(event.callId, "9007199254740995");
  assert.equal(event.userId, "12345678901234567891");
  assert.equal(
    JSON.stringify(event.data),
    '{"id":9007199254740995,"prospect":{"id":18446744073709551617}}',
    "the data keeps the digits when stored",
  );
  const other = classifyEvent(text.replace("9007199254740995", "9007199254740994"));
  assert.ok(other.kind === "call" && other.callId !== event.callId, "distinct calls stay distinct");
  assert.deepEqual(eventSummary(text), {
    eventType: "Call",
    eventId: "9007199254740993",
    callId: "9007199254740995",
    userId: "12345678901234567891",
  });
});

Deno.test("ids holding a control character are invalid at their path", async (t) => {
  const cases: [string, Record<string, unknown>][] = [
    ["data.id", { id: "e1", object: "Call", data: { id: "call\u0000x" } }],
    ["id", { id: "e\u00001", object: "Call", data: { id: "c1" } }],
    ["user_id", { id: "e1", user_id: "u\u001b", object: "Call", data: { id: "c1" } }],
    ["data.prospect.id", { object: "Call", data: { id: "c1", prospect: { id: "p\n" } } }],
    ["data.prospect.external_id", {
      object: "Call",
      data: { id: "c1", prospect: { external_id: "x\u0085" } },
    }],
    ["data.external_id", { event: "prospect:updated", data: { id: "p1", external_id: "\u007f" } }],
    ["id", { id: "e\u0000", event: "something:else" }],
  ];
  for (const [path, envelope] of cases) {
    await t.step(path, () => assertInvalid(body(envelope), path, "control character U\\+00"));
  }
  await t.step("readEvent reports it as invalid, with what it can audit", () => {
    const read = readEvent(body({ id: "e1", object: "Call", data: { id: "a\u0000b" } }));
    assert.equal(read.event, null);
    assert.equal(read.invalid?.path, "data.id");
    assert.equal(read.summary.eventId, "e1");
  });
  await t.step("printable Unicode is fine", () => {
    const event = classifyEvent(body({ object: "Call", data: { id: "Zoë-☎-\u00a0x" } }));
    assert.equal(event.kind === "call" && event.callId, "Zoë-☎-\u00a0x");
  });
});
