/*
 * docs/protocol/audit.md's worked example is true: the firmware's audit log
 * makes exactly those bytes from those inputs, and the phone's verifier
 * accepts them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { documentedAuditExample, renderAuditExample } from "../../tools/protocol/audit-example.js";

test("docs/protocol/audit.md's worked example is what the firmware's audit log produces", () => {
	assert.equal(documentedAuditExample(), renderAuditExample());
});
