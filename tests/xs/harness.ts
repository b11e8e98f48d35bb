/*
 * A minimal test harness for firmware tests that run inside the XS simulator
 * host. Each test prints one line that tests/integration/xs-host.test.ts
 * turns into a node:test result:
 *   xs-test ok <name>
 *   xs-test not ok <name> :: <reason>
 * and the run ends with host.exit(0 or 1).
 */
type Body = () => void | Promise<void>;

const tests: { name: string; body: Body }[] = [];
let scheduled = false;

export function test(name: string, body: Body): void {
	tests.push({ name, body });
	if (!scheduled) {
		scheduled = true;
		Promise.resolve().then(run);
	}
}

async function run(): Promise<void> {
	let failed = 0;
	for (const { name, body } of tests) {
		try {
			await body();
			trace(`xs-test ok ${name}\n`);
		}
		catch (error) {
			failed++;
			const reason = (error instanceof Error) ? `${error.name}: ${error.message}` : String(error);
			trace(`xs-test not ok ${name} :: ${reason.replace(/\n/g, " ")}\n`);
		}
	}
	host.exit(failed ? 1 : 0);
}

export class AssertionError extends Error {
	// A field, not `this.name = ...`: Error.prototype is frozen, as on a preloaded XS image.
	override readonly name = "AssertionError";
}

function show(value: unknown): string {
	if (value instanceof Uint8Array)
		return `Uint8Array[${Array.from(value).join(",")}]`;
	try {
		return JSON.stringify(value) ?? String(value);
	}
	catch {
		return String(value);
	}
}

export function equal<T>(actual: T, expected: T, what = "value"): void {
	if (!Object.is(actual, expected))
		throw new AssertionError(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

export function ok(condition: unknown, what: string): void {
	if (!condition)
		throw new AssertionError(what);
}

export function bytesEqual(actual: Uint8Array, expected: Uint8Array, what = "bytes"): void {
	if ((actual.length !== expected.length) || actual.some((byte, i) => byte !== expected[i]))
		throw new AssertionError(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/** Runs `body` and checks that it throws an error whose message matches `pattern`. */
export function throws(body: () => unknown, pattern: RegExp, what = "call"): void {
	try {
		body();
	}
	catch (error) {
		const message = (error as Error).message;
		if (!pattern.test(message))
			throw new AssertionError(`${what}: threw "${message}", expected ${pattern}`);
		return;
	}
	throw new AssertionError(`${what}: did not throw`);
}
