/*
 * The host preloads the manifest's "preload" modules, then freezes, as
 * mcconfig's linker does (hardware/sim/host/preload.c). These tests show the
 * device's observable rules in the host: what a preloaded module made is
 * frozen where XS would freeze it in flash, and writable where XS would
 * alias it into RAM.
 */
import { test, equal, ok } from "tests/harness";
import { AssignedNameError, Counter, FieldNameError, bytes, callHandler, frozen, increment, kept, list, open, replaceHandler, settings, table } from "tests/preload-fixture";
import { MalformedPacket } from "mqtt/packet";
import { DetectionError } from "detect/detector";
import { NoRecipientError } from "pipeline/sealer";
import { UpdateError } from "update/errors";
import { CobblestoneError } from "crypto/cobblestone";

function thrown(body: () => unknown): string {
	try {
		body();
	}
	catch (error) {
		return (error instanceof Error) ? `${error.name}: ${error.message}` : String(error);
	}
	return "";
}

test("the built-in prototypes are frozen", () => {
	ok(Object.isFrozen(Object.prototype), "Object.prototype");
	ok(Object.isFrozen(Error.prototype), "Error.prototype");
	ok(Object.isFrozen(Array.prototype), "Array.prototype");
	ok(Object.isFrozen(Uint8Array.prototype), "Uint8Array.prototype");
	ok(Object.isFrozen(Math), "Math");
	ok(Object.isFrozen(JSON), "JSON");
	ok(/TypeError/.test(thrown(() => { (Array.prototype as unknown as Record<string, unknown>).extra = 1; })), "patching Array.prototype throws");
});

test("this.name = ... in an Error subclass throws (the override mistake)", () => {
	const message = thrown(() => new AssignedNameError("lost"));
	ok(/^TypeError: .*name.*not writable/.test(message), `constructing it: ${message}`);
	// A class that is not preloaded fails the same way: the frozen prototype is Error's.
	class Runtime extends Error {
		constructor() {
			super("lost too");
			this.name = "Runtime";
		}
	}
	ok(/^TypeError: .*name.*not writable/.test(thrown(() => new Runtime())), "a run-time subclass");
});

test("a name field keeps the error's own name and message", () => {
	const error = new FieldNameError("kept");
	equal(error.name, "FieldNameError", "name");
	equal(error.message, "kept", "message");
	equal(String(error), "FieldNameError: kept", "String(error)");
});

test("every firmware error class carries its own name and message on the strict host", () => {
	const cases: [Error, string, RegExp][] = [
		[new MalformedPacket("short"), "MalformedPacket", /^mqtt: malformed packet: short$/],
		[new DetectionError("model", "no model"), "DetectionError", /^face detection: no model$/],
		[new NoRecipientError(), "NoRecipientError", /^no phone is paired/],
		[new UpdateError("bad-signature", "bad"), "UpdateError", /^update refused \(bad-signature\): bad$/],
		[new CobblestoneError("truncated"), "CobblestoneError", /^cobblestone: truncated$/],
	];
	for (const [error, name, message] of cases) {
		ok(error instanceof Error, `${name} is an Error`);
		equal(error.name, name, `${name}.name`);
		ok(message.test(error.message), `${name}.message: ${error.message}`);
	}
});

test("a Map, typed array or private field that a preloaded module made is read-only", () => {
	ok(/read-only/.test(thrown(() => table.set("two", 2))), `Map.set: ${thrown(() => table.set("two", 2))}`);
	equal(table.get("one"), 1, "reading the Map still works");
	ok(/TypeError: .*read-only/.test(thrown(() => { bytes[0] = 9; })), `a write into a preloaded Uint8Array: ${thrown(() => { bytes[0] = 9; })}`);
	equal(bytes[0], 1, "the preloaded bytes are unchanged");
	ok(/TypeError/.test(thrown(() => { kept.secret = 2; })), `a private field of a frozen instance: ${thrown(() => { kept.secret = 2; })}`);
	open.secret = 2;
	equal(open.secret, 2, "a private field of an instance left unfrozen");
});

test("a preloaded class and its prototype are frozen; its instances are not", () => {
	ok(/TypeError/.test(thrown(() => { Counter.made = 1; })), "a static field");
	ok(/TypeError/.test(thrown(() => { (Counter.prototype as unknown as Record<string, unknown>).reset = () => 0; })), "patching the prototype");
	const counter = new Counter();
	equal(counter.bump(), 1, "an instance made at run time is writable");
});

test("module variables stay writable unless they hold a function", () => {
	equal(increment(), 1, "a let counter");
	equal(increment(), 2, "a let counter, again");
	ok(/TypeError/.test(thrown(() => replaceHandler(() => "replaced"))), "reassigning a module variable that holds a function");
	equal(callHandler(), "preloaded", "the function kept");
});

test("plain objects and arrays stay writable (XS aliases them into RAM)", () => {
	settings.level = 2;
	settings.extra = "added";
	equal(settings.level, 2, "a property set");
	equal(settings.extra, "added", "a property added");
	list.push(3);
	equal(list.length, 3, "an array grown");
	ok(/TypeError/.test(thrown(() => { (frozen as { level: number }).level = 2; })), "an object the module froze stays frozen");
});
