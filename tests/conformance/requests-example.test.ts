/*
 * docs/protocol/requests.md's worked example is true: the phone's code seals
 * exactly those bytes from those inputs, and the firmware's parser opens and
 * checks them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { documentedRequestsExample, renderRequestsExample } from "../../tools/protocol/requests-example.js";

test("docs/protocol/requests.md's worked example regenerates byte for byte, and the firmware's parser reads it", async () => {
	assert.equal(documentedRequestsExample(), await renderRequestsExample());
});
