/*
 * The interpreter's invokeAsync (hardware/inference/interpreter/inference.c)
 * and the detector's asynchronous forms in the host: the model runs off the
 * XS thread, gives exactly what invoke gives, owns the arena while it runs
 * (every other call throws, close() too), and the XS thread serves a press
 * meanwhile.
 *
 * Order, not time: the simulator's gate (hold/release) keeps a started run
 * waiting on its worker thread until the test lets it go, and pending()
 * counts the runs the XS thread has not been handed back, so "a press was
 * handled while a model ran" is a fact of the run, not a race.
 */
import Interpreter, { hold, pending, release } from "hardware/inference";
import resource from "hardware/resource";
import Timer from "timer";
import FaceDetector from "detect/detector";
import Detection from "pipeline/detection";
import { equal, ok, test, throws } from "tests/harness";

const model = "face_detection_full_range_int8.tflite";
const visitor = [0, 1, 2, 3].map((index) => new Uint8Array(host.readFile(`tools/scenes/default/frames/visitor-${index}.jpg`)));

function elementCount(shape: readonly number[]): number {
	return shape.reduce((product, dimension) => product * dimension, 1);
}

function patterned(count: number, seed: number): Int8Array {
	const input = new Int8Array(count);
	for (let i = 0; i < count; i++)
		input[i] = ((i * seed) % 255) - 127;
	return input;
}

function same(a: Float32Array, b: Float32Array): boolean {
	return (a.length === b.length) && a.every((value, i) => Object.is(value, b[i]));
}

/** Calls `then` on a later turn of the event loop once `condition` holds (a poll on timers: no time is asserted). */
function when(condition: () => boolean, then: () => void): void {
	Timer.set(() => (condition() ? then() : when(condition, then)), 1);
}

test("invokeAsync gives exactly what invoke gives, from a resource and from an ArrayBuffer", async () => {
	const resourceModel = resource(model);
	const copy = new Uint8Array(resourceModel as unknown as ArrayBuffer).slice().buffer as ArrayBuffer;
	for (const bytes of [resourceModel, copy]) {
		const interpreter = new Interpreter(bytes);
		const input = patterned(elementCount(interpreter.input.shape), 7919);
		interpreter.setInput(input);
		interpreter.invoke();
		const expected = interpreter.outputs.map((_, index) => interpreter.output(index));
		interpreter.setInput(new Int8Array(input.length));
		interpreter.invoke();
		interpreter.setInput(input);
		const result = interpreter.invokeAsync();
		// Garbage made and collected (host.memory() collects) while the worker reads the model: it reads what cannot move.
		for (let i = 0; i < 200; i++)
			new Uint8Array(4096).fill(i);
		host.memory();
		await result;
		expected.forEach((values, index) => ok(same(interpreter.output(index), values), `output ${index} is the same`));
		interpreter.close();
	}
});

test("while the model runs, the input, the outputs, another run and close() are refused; afterwards everything works", async () => {
	const interpreter = new Interpreter(resource(model));
	const input = patterned(elementCount(interpreter.input.shape), 31);
	interpreter.setInput(input);
	const running = interpreter.invokeAsync();
	equal(pending(), 1, "one run out");
	throws(() => interpreter.setInput(input), /setInput while the model runs \(invokeAsync\)/, "setInput");
	throws(() => interpreter.invoke(), /invoke while the model runs/, "invoke");
	throws(() => interpreter.output(0), /output while the model runs/, "output");
	throws(() => interpreter.ranges(), /ranges while the model runs/, "ranges");
	let second: unknown;
	try {
		await interpreter.invokeAsync();
	}
	catch (error) {
		second = error;
	}
	ok(/invokeAsync while the model runs/.test((second as Error | undefined)?.message ?? ""), `a second invokeAsync: ${String(second)}`);
	throws(() => interpreter.close(), /close\(\) while the model runs/, "close");
	await running;
	equal(pending(), 0, "no run out");
	ok(interpreter.output(1).every(Number.isFinite), "the outputs, once it is done");
	interpreter.setInput(input);
	await interpreter.invokeAsync();
	interpreter.close();
	throws(() => interpreter.invokeAsync(), /invokeAsync after close/, "invokeAsync after close");
});

test("a press is handled while a model runs: the XS thread is free until the run comes back", async () => {
	const interpreter = new Interpreter(resource(model));
	interpreter.setInput(patterned(elementCount(interpreter.input.shape), 13));
	const events: string[] = [];
	hold(true);
	try {
		const running = interpreter.invokeAsync().then(() => events.push("inference done"));
		// The press: a callback from the loop, as the button's is. The run is held on its worker, so it is still out.
		Timer.set(() => {
			events.push(`press handled, ${pending()} run out`);
			throws(() => interpreter.setInput(new Int8Array(elementCount(interpreter.input.shape))), /while the model runs/, "the arena is still the model's");
			release();
		}, 0);
		await running;
	}
	finally {
		hold(false);
	}
	equal(events.join("; "), "press handled, 1 run out; inference done", "order of events");
	interpreter.close();
});

test("the detector's async forms give what the sync forms give, refuse a second detection, and close once the run is back", async () => {
	const detector = new FaceDetector(resource(model));
	const expected = detector.detectJpeg(visitor[0]);
	ok(expected.faces.length > 0, "the visitor's face, found synchronously");
	const runs = detector.runs;
	const running = detector.detectJpegAsync(visitor[0]);
	throws(() => detector.detectJpeg(visitor[1]), /already running on this detector/, "a sync detection meanwhile");
	let refused: unknown;
	try {
		await detector.detectJpegAsync(visitor[1]);
	}
	catch (error) {
		refused = error;
	}
	equal((refused as { reason?: string } | undefined)?.reason, "busy", "a second async detection");
	const result = await running;
	equal(JSON.stringify(result), JSON.stringify(expected), "the same faces");
	equal(detector.runs - runs, runs, "the same model runs");
	const closing = detector.detectJpegAsync(visitor[0]);
	detector.close();
	let closed: unknown;
	try {
		await closing;
	}
	catch (error) {
		closed = error;
	}
	// Closed at once or after its first run, never under the worker: either the result or "closed".
	ok((closed === undefined) || ((closed as { reason?: string }).reason === "closed"), `close during a detection: ${String(closed)}`);
	equal(pending(), 0, "no run out");
	throws(() => detector.detectJpeg(visitor[0]), /closed/, "closed afterwards");
});

test("a press during a clip's detection is handled before that detection completes, while its model runs", async () => {
	const stage = new Detection({ model, load: resource, zones: [], enabled: true });
	const events: string[] = [];
	hold(true);
	try {
		const detecting = stage.process(visitor).then((result) => {
			events.push(`detection done: ${result.report.status}`);
			return result;
		});
		// Pressed once the stage has a model run out; the run waits on its worker, so the press comes mid-inference.
		when(() => pending() > 0, () => {
			events.push(`press handled, ${pending()} run out`);
			hold(false);
		});
		const result = await detecting;
		ok((result.report.modelRuns ?? 0) >= 1, "the model ran");
	}
	finally {
		hold(false);
	}
	equal(events.join("; "), "press handled, 1 run out; detection done: found", "order of events");
	stage.close();
});
