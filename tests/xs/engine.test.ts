/*
 * Proves where the firmware runs: in the XS engine of the simulator host,
 * not in Node. Node's globals are absent; XS's own extensions are present.
 */
import { test, equal, ok } from "tests/harness";

test("runs on XS, not Node", () => {
	const global = globalThis as Record<string, unknown>;
	ok(/^\d+\.\d+\.\d+$/.test(host.xsVersion), `XS version reported: ${host.xsVersion}`);
	trace(`xs-info version ${host.xsVersion}\n`);
	equal(typeof global.process, "undefined", "typeof process");
	equal(typeof global.require, "undefined", "typeof require");
	equal(typeof global.Buffer, "undefined", "typeof Buffer");
	// XS extensions that V8 does not have.
	equal(typeof (String as unknown as Record<string, unknown>).fromArrayBuffer, "function", "String.fromArrayBuffer (XS)");
	equal(typeof (ArrayBuffer as unknown as Record<string, unknown>).fromString, "function", "ArrayBuffer.fromString (XS)");
});

test("native() resolves compiled-in host functions and refuses others", () => {
	equal(typeof native("xs_random_fill"), "function", "native(xs_random_fill)");
	equal(native("xs_random_fill"), native("xs_random_fill"), "native() is cached");
	let message = "";
	try {
		native("xs_no_such_function");
	}
	catch (error) {
		message = (error as Error).message;
	}
	ok(/no host function xs_no_such_function/.test(message), `unknown native refused: ${message}`);
	try {
		native("printf");
		message = "";
	}
	catch (error) {
		message = (error as Error).message;
	}
	ok(/not an xs_ function/.test(message), `non-xs_ symbol refused: ${message}`);
});
