/*
 * docs/protocol/onboarding.md's worked example is what the phone's code and
 * RFC 9383's equations produce from its inputs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { documentedOnboardingExample, renderOnboardingExample } from "../../tools/phone/onboarding-example.js";

test("docs/protocol/onboarding.md's worked example regenerates byte for byte", () => {
	assert.equal(documentedOnboardingExample(), renderOnboardingExample());
});
