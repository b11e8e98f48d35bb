/*
 * The specification's worked example is true: the firmware seals exactly
 * those bytes from those inputs, and the independent phone opens them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { documentedExample, renderExample } from "../../tools/protocol/example.js";

test("docs/protocol/events.md's worked example is what the firmware produces", async () => {
	assert.equal(documentedExample(), await renderExample());
});
