/*
 * The interpreter's tests inside the XS host, driven by
 * tests/integration/inference.test.ts, which chooses the resources folder
 * (not named *.test, so xs-host.test.ts does not run it without one):
 *
 *   -- models     the MediaPipe float16 models (resources: their npm package)
 *   -- cases      single-op models and their expected outputs, from
 *                 cases.json in the resources folder (written by the Node test)
 *   -- corrupt    every truncation and random byte flips of a small model
 *                 (resources: the same folder as `cases`)
 *
 * Lines "xs-info inference {...}" carry figures for the report (arena,
 * milliseconds per invoke); tests never assert on time.
 */
import Interpreter from "hardware/inference";
import resource from "hardware/resource";
import { equal, ok, test, throws } from "tests/harness";

/** A resource's bytes as an ArrayBuffer of our own: a resource is a read-only host buffer, as Moddable's Resource is. */
function bytesOf(name: string): ArrayBuffer {
	return new Uint8Array(resource(name) as unknown as ArrayBuffer).slice().buffer as ArrayBuffer;
}

function elementCount(shape: readonly number[]): number {
	return shape.reduce((product, dimension) => product * dimension, 1);
}

function decodeText(buffer: ArrayBuffer): string {
	const bytes = new Uint8Array(buffer);
	let text = "";
	for (let at = 0; at < bytes.length; at += 4096)
		text += String.fromCharCode(...bytes.subarray(at, at + 4096));
	return text;
}

/* A small deterministic generator, so a failing flip can be reproduced. */
function generator(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state ^= state << 13;
		state >>>= 0;
		state ^= state >>> 17;
		state ^= state << 5;
		state >>>= 0;
		return state;
	};
}

/* Construction either succeeds or throws one of ours; a success must then run. */
function survives(bytes: ArrayBuffer, what: string): "ran" | "refused" {
	let interpreter: Interpreter;
	try {
		interpreter = new Interpreter(bytes);
	}
	catch (error) {
		const message = (error as Error).message;
		ok(/\binference: /.test(message), `${what}: unexpected error "${message}"`);
		return "refused";
	}
	const count = elementCount(interpreter.input.shape);
	interpreter.setInput(interpreter.input.type === "int8" ? new Int8Array(count) : new Float32Array(count));
	interpreter.invoke();
	for (let index = 0; index < interpreter.outputs.length; index++)
		interpreter.output(index);
	interpreter.close();
	return "ran";
}

function runModels(): void {
	const models = [
		{ name: "face_detection_short_range.tflite", side: 128, anchors: 896 },
		{ name: "face_detection_full_range.tflite", side: 192, anchors: 2304 },
	];
	for (const { name, side, anchors } of models) {
		test(`${name}: float16 source model runs, outputs [1,${anchors},16] and [1,${anchors},1], finite`, () => {
			const interpreter = new Interpreter(bytesOf(name));
			equal(interpreter.input.type, "float32", "input type");
			equal(JSON.stringify(interpreter.input.shape), JSON.stringify([1, side, side, 3]), "input shape");
			equal(interpreter.outputs.length, 2, "outputs");
			equal(JSON.stringify(interpreter.outputs[0].shape), JSON.stringify([1, anchors, 16]), "boxes shape");
			equal(JSON.stringify(interpreter.outputs[1].shape), JSON.stringify([1, anchors, 1]), "scores shape");
			ok(interpreter.arenaUsed > 0, "arenaUsed is reported");
			const input = new Float32Array(side * side * 3);
			for (let i = 0; i < input.length; i++)
				input[i] = ((i * 7919) % 255) / 127.5 - 1;
			interpreter.setInput(input);
			const rounds = 3;
			const started = Date.now();
			for (let round = 0; round < rounds; round++)
				interpreter.invoke();
			const milliseconds = (Date.now() - started) / rounds;
			const boxes = interpreter.output(0), scores = interpreter.output(1);
			equal(boxes.length, anchors * 16, "boxes length");
			equal(scores.length, anchors, "scores length");
			ok(boxes.every(Number.isFinite) && scores.every(Number.isFinite), "every output is finite");
			ok(scores.some((score) => score !== scores[0]), "the scores are not all the same");
			trace(`xs-info inference ${JSON.stringify({ model: name, arenaUsed: interpreter.arenaUsed, msPerInvoke: milliseconds })}\n`);
			interpreter.close();
		});
	}

	test("the resource itself, a read-only host buffer and not an ArrayBuffer (as Moddable's Resource), is a model", () => {
		const model = resource(models[0].name);
		ok(!(model instanceof ArrayBuffer) && !ArrayBuffer.isView(model), "the resource is a host buffer");
		const view = new Uint8Array(model as unknown as ArrayBuffer);
		throws(() => { view[0] ^= 1; }, /./, "the resource is read-only");
		const side = models[0].side;
		const input = new Float32Array(side * side * 3);
		for (let i = 0; i < input.length; i++)
			input[i] = ((i * 31) % 255) / 127.5 - 1;
		const results = [model, bytesOf(models[0].name)].map((buffer) => {
			const interpreter = new Interpreter(buffer);
			interpreter.setInput(input);
			interpreter.invoke();
			const scores = interpreter.output(1);
			interpreter.close();
			return scores;
		});
		ok(results[0].every((score, i) => Object.is(score, results[1][i])), "the host buffer and a copy in an ArrayBuffer give the same scores");
		throws(() => new Interpreter({ byteLength: 8 } as unknown as ArrayBuffer), /ArrayBuffer or a HostBuffer/, "an object that holds no buffer");
	});

	test("recordRanges: min and max per tensor, constants included, the input's range", () => {
		const interpreter = new Interpreter(bytesOf(models[0].name), { recordRanges: true });
		const input = new Float32Array(128 * 128 * 3);
		input.fill(-0.5);
		input[0] = 0.75;
		interpreter.setInput(input);
		interpreter.invoke();
		const ranges = interpreter.ranges();
		ok((ranges.length % 2 === 0) && (ranges.length > 200), `ranges has one pair per tensor (${ranges.length})`);
		let recorded = 0;
		for (let i = 0; i < ranges.length; i += 2)
			if (!Number.isNaN(ranges[i])) {
				recorded++;
				ok(ranges[i] <= ranges[i + 1], `tensor ${i / 2}: min <= max`);
			}
		ok(recorded > ranges.length / 4, `most tensors recorded (${recorded} of ${ranges.length / 2})`);
		ok([...ranges].some((value, i) => (i % 2 === 0) && value === -0.5 && ranges[i + 1] === 0.75), "the input's range is [-0.5, 0.75]");
		interpreter.close();
		const plain = new Interpreter(bytesOf(models[0].name));
		throws(() => plain.ranges(), /recordRanges/, "ranges() without recordRanges");
		plain.close();
	});

	test("wrong inputs and indices are refused with clear errors, the interpreter keeps working", () => {
		const interpreter = new Interpreter(bytesOf(models[0].name));
		throws(() => interpreter.setInput(new Float32Array(10)), /takes 49152 values, not 10/, "short input");
		throws(() => interpreter.setInput(new Int8Array(49152)), /input is float32, not int8/, "int8 for float32");
		throws(() => interpreter.setInput(new Uint8Array(49152) as unknown as Int8Array), /Int8Array or a Float32Array/, "Uint8Array");
		throws(() => interpreter.output(2), /output 2 does not exist/, "output 2");
		throws(() => interpreter.output(-1), /output -1 does not exist/, "output -1");
		throws(() => interpreter.output(0.5), /output 0.5 does not exist/, "output 0.5");
		throws(() => new Interpreter(bytesOf(models[0].name), { arenaSize: 1000 }), /needs an arena of \d+ bytes/, "small arena");
		throws(() => new Interpreter(new Uint8Array(8) as unknown as ArrayBuffer), /ArrayBuffer or a HostBuffer/, "model type");
		interpreter.setInput(new Float32Array(49152));
		interpreter.invoke();
		ok(interpreter.output(1).every(Number.isFinite), "still runs");
		interpreter.close();
		interpreter.close();
		throws(() => interpreter.invoke(), /after close/, "invoke after close");
		throws(() => interpreter.setInput(new Float32Array(49152)), /after close/, "setInput after close");
		throws(() => interpreter.output(0), /after close/, "output after close");
	});

	test("the arena fits exactly arenaUsed bytes", () => {
		const probe = new Interpreter(bytesOf(models[0].name));
		const needed = probe.arenaUsed;
		probe.close();
		new Interpreter(bytesOf(models[0].name), { arenaSize: needed }).close();
		throws(() => new Interpreter(bytesOf(models[0].name), { arenaSize: needed - 1 }), new RegExp(`needs an arena of ${needed} bytes`), "one byte short");
	});

	test("truncated and flipped copies of the short-range model are refused or run, never crash", () => {
		const model = bytesOf(models[0].name);
		const random = generator(5);
		let refused = 0;
		for (let i = 0; i < 150; i++) {
			const length = (i < 100) ? Math.floor((model.byteLength * i) / 100) : random() % model.byteLength;
			if (survives(model.slice(0, length), `truncated to ${length}`) === "refused")
				refused++;
		}
		equal(refused, 150, "every truncation is refused");
		const structure = Math.min(model.byteLength, 4096);
		for (let i = 0; i < 100; i++) {
			const copy = model.slice(0);
			const bytes = new Uint8Array(copy);
			// The structure (root, vtables, vectors) is mostly at the start and the end; the weights in between.
			const at = (i % 2) ? random() % structure : model.byteLength - 1 - (random() % structure);
			bytes[at] ^= 1 << (random() % 8);
			survives(copy, `bit flipped at ${at}`);
		}
	});
}

interface Case {
	name: string;
	model: string;
	inputType?: "float32" | "int8";
	input?: number[];
	/** Expected outputs, dequantized; compared within `tolerance` (0: exactly). */
	outputs?: number[][];
	tolerance?: number;
	/** A pattern the construction error must match, instead of running. */
	error?: string;
}

function runCases(): void {
	const cases = JSON.parse(decodeText(bytesOf("cases.json"))) as Case[];
	for (const item of cases)
		test(item.name, () => {
			const model = bytesOf(item.model);
			if (item.error !== undefined) {
				throws(() => new Interpreter(model), new RegExp(item.error), "construction");
				return;
			}
			const interpreter = new Interpreter(model);
			const input = item.input ?? [];
			equal(interpreter.input.type, item.inputType, "input type");
			equal(elementCount(interpreter.input.shape), input.length, "input length");
			interpreter.setInput(item.inputType === "int8" ? Int8Array.from(input) : Float32Array.from(input));
			interpreter.invoke();
			(item.outputs ?? []).forEach((expected, index) => {
				const actual = interpreter.output(index);
				equal(actual.length, expected.length, `output ${index} length`);
				for (let i = 0; i < expected.length; i++) {
					const tolerance = (item.tolerance ?? 0) * Math.max(1, Math.abs(expected[i]));
					if (!(Math.abs(actual[i] - expected[i]) <= tolerance))
						throw new Error(`output ${index}[${i}]: expected ${expected[i]}, got ${actual[i]}`);
				}
			});
			// A second invoke gives the same outputs: nothing depends on the arena's previous contents.
			const first = (item.outputs ?? []).map((_, index) => interpreter.output(index));
			interpreter.invoke();
			first.forEach((values, index) => ok(interpreter.output(index).every((value, i) => Object.is(value, values[i])), `output ${index} repeats`));
			interpreter.close();
		});
}

function runCorrupt(name: string): void {
	test(`${name}: every truncation is refused, never a crash`, () => {
		const model = bytesOf(name);
		for (let length = 0; length < model.byteLength; length++)
			equal(survives(model.slice(0, length), `truncated to ${length}`), "refused", `truncated to ${length}`);
		equal(survives(model, "whole"), "ran", "the whole model");
	});
	test(`${name}: 3000 random byte flips are refused or run, never a crash`, () => {
		const model = bytesOf(name);
		const random = generator(11);
		let refused = 0;
		for (let i = 0; i < 3000; i++) {
			const copy = model.slice(0);
			const bytes = new Uint8Array(copy);
			const flips = 1 + (random() % 3);
			for (let flip = 0; flip < flips; flip++)
				bytes[random() % bytes.length] = random() & 0xFF;
			if (survives(copy, `flip ${i}`) === "refused")
				refused++;
		}
		trace(`xs-info inference ${JSON.stringify({ flips: 3000, refused })}\n`);
	});
}

const [mode, ...rest] = host.argv;
if (mode === "models")
	runModels();
else if (mode === "cases")
	runCases();
else if (mode === "corrupt")
	runCorrupt(rest[0] ?? "conv.tflite");
else
	test("inference-run needs a mode", () => {
		throw new Error(`unknown mode ${String(mode)}: models, cases or corrupt`);
	});
