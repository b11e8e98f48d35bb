/*
 * docs/protocol/live.md's worked example is true: the phone's code makes
 * that request and opens that frame, the firmware's functions sign that
 * transcript, derive those keys and seal those bytes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { documentedLiveExample, renderLiveExample } from "../../tools/protocol/live-example.js";

test("docs/protocol/live.md's worked example regenerates byte for byte, on both sides", async () => {
	assert.equal(documentedLiveExample(), await renderLiveExample());
});
