/*
 * The JPEG codecs (hardware/image) in the XS host: the scene's camera frames
 * decode at every DCT scale, an encode survives a decode, and every kind of
 * bad input ends in a clear exception the firmware can catch, after which
 * the codec still works.
 */
import { test, equal, ok, AssertionError } from "tests/harness";
import { decodeJpeg, encodeJpeg, jpegSize } from "hardware/image";
import type { Pixels } from "hardware/image";

const framePaths = [0, 1, 2, 3, 4, 5].map((index) => `tools/scenes/default/frames/visitor-${index}.jpg`);
const frames = framePaths.map((path) => new Uint8Array(host.readFile(path)));

function throwsA(body: () => unknown, kind: ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor, pattern: RegExp, what: string): void {
	try {
		body();
	}
	catch (error) {
		if (!(error instanceof kind) || ((kind === Error) && ((error instanceof RangeError) || (error instanceof TypeError))))
			throw new AssertionError(`${what}: threw ${(error as Error).name} "${(error as Error).message}", expected a ${kind.name}`);
		if (!pattern.test((error as Error).message))
			throw new AssertionError(`${what}: threw "${(error as Error).message}", expected ${pattern}`);
		return;
	}
	throw new AssertionError(`${what}: did not throw`);
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
	equal(a.length, b.length, "compared lengths");
	let sum = 0;
	for (let i = 0; i < a.length; i++)
		sum += Math.abs(a[i] - b[i]);
	return sum / a.length;
}

/** A smooth synthetic picture of any size: gradients plus a disc, so the encoder has edges and flat areas. */
function synthetic(width: number, height: number): Pixels {
	const data = new Uint8Array(width * height * 3);
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			const at = (y * width + x) * 3;
			const inside = ((x - width / 2) ** 2 + (y - height / 2) ** 2) < (Math.min(width, height) / 3) ** 2;
			data[at] = inside ? 220 : Math.round(255 * x / width);
			data[at + 1] = inside ? 60 : Math.round(255 * y / height);
			data[at + 2] = 128;
		}
	}
	return { width, height, data };
}

/** The average of each scale × scale block (edge blocks partial): what a DCT-scaled decode approximates. */
function boxDownsample(pixels: Pixels, scale: number): Uint8Array {
	const width = Math.ceil(pixels.width / scale), height = Math.ceil(pixels.height / scale);
	const out = new Uint8Array(width * height * 3);
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			for (let c = 0; c < 3; c++) {
				let sum = 0, count = 0;
				for (let dy = 0; dy < scale && y * scale + dy < pixels.height; dy++) {
					for (let dx = 0; dx < scale && x * scale + dx < pixels.width; dx++) {
						sum += pixels.data[((y * scale + dy) * pixels.width + x * scale + dx) * 3 + c];
						count++;
					}
				}
				out[(y * width + x) * 3 + c] = Math.round(sum / count);
			}
		}
	}
	return out;
}

test("the scene frames decode to 320 × 240 RGB with plausible pixels", () => {
	for (const [index, frame] of frames.entries()) {
		const size = jpegSize(frame);
		equal(size.width, 320, `frame ${index} jpegSize width`);
		equal(size.height, 240, `frame ${index} jpegSize height`);
		const pixels = decodeJpeg(frame);
		equal(pixels.width, 320, `frame ${index} width`);
		equal(pixels.height, 240, `frame ${index} height`);
		equal(pixels.data.length, 320 * 240 * 3, `frame ${index} bytes`);
		let sum = 0, sumSquares = 0;
		for (const value of pixels.data) {
			sum += value;
			sumSquares += value * value;
		}
		const mean = sum / pixels.data.length;
		const deviation = Math.sqrt(sumSquares / pixels.data.length - mean * mean);
		ok((mean > 20) && (mean < 235), `frame ${index}: mean ${mean.toFixed(1)} is neither black nor white`);
		ok(deviation > 10, `frame ${index}: standard deviation ${deviation.toFixed(1)} shows a picture, not a flat fill`);
	}
});

test("an ArrayBuffer and a Uint8Array with a byteOffset decode the same", () => {
	const frame = frames[0];
	const padded = new Uint8Array(frame.length + 7);
	padded.set(frame, 5);
	const view = padded.subarray(5, 5 + frame.length);
	const fromView = decodeJpeg(view);
	const fromBuffer = decodeJpeg(frame.slice().buffer);
	equal(meanAbsDiff(fromView.data, fromBuffer.data), 0, "pixels differ");
	equal(jpegSize(view).width, 320, "jpegSize of the view");
});

test("decoding at 1/2, 1/4 and 1/8 gives ceil(size / scale) and a faithful small picture", () => {
	const full = decodeJpeg(frames[1]);
	for (const scale of [2, 4, 8] as const) {
		const small = decodeJpeg(frames[1], { scale });
		equal(small.width, Math.ceil(320 / scale), `scale ${scale} width`);
		equal(small.height, Math.ceil(240 / scale), `scale ${scale} height`);
		equal(small.data.length, small.width * small.height * 3, `scale ${scale} bytes`);
		const difference = meanAbsDiff(small.data, boxDownsample(full, scale));
		ok(difference < 8, `scale ${scale}: mean difference from a box-downsampled full decode is ${difference.toFixed(2)}`);
	}
	const odd = decodeJpeg(encodeJpeg(synthetic(37, 23), 90));
	equal(odd.width, 37, "odd width");
	equal(odd.height, 23, "odd height");
	const oddJpeg = encodeJpeg(synthetic(37, 23), 90);
	for (const [scale, width, height] of [[2, 19, 12], [4, 10, 6], [8, 5, 3]] as const) {
		const small = decodeJpeg(oddJpeg, { scale });
		equal(`${small.width}x${small.height}`, `${width}x${height}`, `37 × 23 at 1/${scale}`);
	}
	equal(decodeJpeg(frames[1], { scale: 1 }).width, 320, "scale 1");
	equal(decodeJpeg(frames[1], {}).width, 320, "no scale");
});

test("encode then decode gives back the picture, closer at higher quality", () => {
	const frame = decodeJpeg(frames[2]);
	const high = encodeJpeg(frame, 90);
	const low = encodeJpeg(frame, 10);
	ok(high instanceof ArrayBuffer, "encodeJpeg returns an ArrayBuffer");
	ok(low.byteLength < high.byteLength, `quality 10 (${low.byteLength} bytes) is smaller than quality 90 (${high.byteLength} bytes)`);
	equal(jpegSize(high).width, 320, "encoded width");
	equal(jpegSize(high).height, 240, "encoded height");
	const highDifference = meanAbsDiff(decodeJpeg(high).data, frame.data);
	const lowDifference = meanAbsDiff(decodeJpeg(low).data, frame.data);
	ok(highDifference < 3, `quality 90: mean abs difference ${highDifference.toFixed(2)}`);
	ok(lowDifference < 12, `quality 10: mean abs difference ${lowDifference.toFixed(2)}`);
	ok(highDifference < lowDifference, "higher quality is closer");

	const picture = synthetic(64, 48);
	const back = decodeJpeg(encodeJpeg(picture, 95));
	equal(back.width, 64, "synthetic width");
	const difference = meanAbsDiff(back.data, picture.data);
	ok(difference < 3, `synthetic: mean abs difference ${difference.toFixed(2)}`);
	// Channel order: the disc is red-ish (220, 60, 128), so R must come out well above G.
	const centre = ((24 * 64) + 32) * 3;
	ok((back.data[centre] > 180) && (back.data[centre + 1] < 100), `the disc's centre is R ${back.data[centre]}, G ${back.data[centre + 1]}: RGB order`);

	const tiny = decodeJpeg(encodeJpeg({ width: 1, height: 1, data: new Uint8Array([10, 200, 30]) }, 100));
	equal(`${tiny.width}x${tiny.height}`, "1x1", "1 × 1 round trip");
	ok(meanAbsDiff(tiny.data, new Uint8Array([10, 200, 30])) < 6, `1 × 1 pixel came back as ${Array.from(tiny.data).join(",")}`);
});

test("truncated JPEGs throw a clear error at every cut", () => {
	const frame = frames[3];
	for (const cut of [1, 2, 3, 20, 150, 400, frame.length >> 1, frame.length - 10, frame.length - 2]) {
		const part = frame.slice(0, cut);
		throwsA(() => decodeJpeg(part), Error, /image: corrupt JPEG: /, `cut at ${cut} of ${frame.length}`);
	}
});

test("garbage, empty input, a PNG and a corrupted body throw clearly or decode, never crash", () => {
	throwsA(() => decodeJpeg(new Uint8Array(0)), Error, /image: corrupt JPEG: empty data/, "empty");
	throwsA(() => jpegSize(new ArrayBuffer(0)), Error, /image: corrupt JPEG: empty data/, "jpegSize of empty");
	const png = new Uint8Array([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
	throwsA(() => decodeJpeg(png), Error, /not a JPEG/, "PNG header");
	throwsA(() => jpegSize(png), Error, /not a JPEG/, "jpegSize of a PNG");
	let seed = 12345;
	const garbage = new Uint8Array(4096).map(() => (seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF) >> 16);
	throwsA(() => decodeJpeg(garbage), Error, /image: corrupt JPEG/, "garbage");
	// A real SOI followed by garbage: the header walk must stay in bounds.
	const soiGarbage = garbage.slice();
	soiGarbage.set([0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF], 0);
	throwsA(() => decodeJpeg(soiGarbage), Error, /image: corrupt JPEG/, "SOI then garbage");
	throwsA(() => decodeJpeg(new Uint8Array([0xFF, 0xD8, 0xFF, 0xD9])), Error, /no frame header/, "SOI EOI");

	// Scribbled entropy-coded data: libjpeg may decode it with warnings or stop with an error; both are fine, a crash is not.
	const scribbled = frames[4].slice();
	for (let at = scribbled.length >> 1; at < (scribbled.length >> 1) + 300; at++)
		scribbled[at] = (at * 37) & 0xFF;
	try {
		const pixels = decodeJpeg(scribbled);
		equal(pixels.data.length, 320 * 240 * 3, "a scribbled frame decoded at its size");
	}
	catch (error) {
		ok(/image: corrupt JPEG: /.test((error as Error).message), `scribbled: ${(error as Error).message}`);
	}
});

test("a huge declared size is refused before anything is allocated", () => {
	const frame = frames[5].slice();
	// Find the SOF0 header and rewrite its height and width.
	let sof = -1;
	for (let i = 2; i < frame.length - 1; i++) {
		if ((frame[i] === 0xFF) && (frame[i + 1] === 0xC0)) {
			sof = i;
			break;
		}
	}
	ok(sof > 0, "the frame has a baseline frame header");
	for (const [width, height] of [[5000, 240], [320, 4097], [65535, 65535]]) {
		frame[sof + 5] = height >> 8;
		frame[sof + 6] = height & 0xFF;
		frame[sof + 7] = width >> 8;
		frame[sof + 8] = width & 0xFF;
		equal(jpegSize(frame).width, width, "jpegSize still reports the declared width");
		throwsA(() => decodeJpeg(frame), RangeError, /larger than the 4096 × 4096 limit/, `${width} × ${height}`);
	}
	frame[sof + 5] = 0;
	frame[sof + 6] = 0;
	throwsA(() => jpegSize(frame), Error, /DNL/, "zero height");
});

test("bad arguments throw TypeError or RangeError", () => {
	const frame = frames[0];
	throwsA(() => decodeJpeg(123 as unknown as Uint8Array), TypeError, /ArrayBuffer or a Uint8Array/, "a number");
	throwsA(() => decodeJpeg([0xFF, 0xD8] as unknown as Uint8Array), TypeError, /ArrayBuffer or a Uint8Array/, "an Array");
	throwsA(() => jpegSize("jpeg" as unknown as Uint8Array), TypeError, /ArrayBuffer or a Uint8Array/, "jpegSize of a string");
	throwsA(() => decodeJpeg(frame, { scale: 3 as 2 }), RangeError, /scale must be 1, 2, 4 or 8/, "scale 3");
	throwsA(() => decodeJpeg(frame, { scale: 16 as 8 }), RangeError, /scale must be 1, 2, 4 or 8/, "scale 16");
	throwsA(() => decodeJpeg(frame, null as unknown as object), TypeError, /options must be an object/, "null options");

	const good = synthetic(8, 8);
	throwsA(() => encodeJpeg(good, 0), RangeError, /quality/, "quality 0");
	throwsA(() => encodeJpeg(good, 101), RangeError, /quality/, "quality 101");
	throwsA(() => encodeJpeg(good, 50.5), RangeError, /quality/, "quality 50.5");
	throwsA(() => encodeJpeg(good, "90" as unknown as number), TypeError, /quality/, "quality as a string");
	throwsA(() => encodeJpeg(null as unknown as Pixels, 90), TypeError, /pixels must be an object/, "null pixels");
	throwsA(() => encodeJpeg({ width: 0, height: 8, data: new Uint8Array(0) }, 90), RangeError, /width/, "width 0");
	throwsA(() => encodeJpeg({ width: 4097, height: 1, data: new Uint8Array(4097 * 3) }, 90), RangeError, /width/, "width 4097");
	throwsA(() => encodeJpeg({ width: 8, height: 8, data: new Uint8Array(10) }, 90), RangeError, /192 bytes/, "short data");
	throwsA(() => encodeJpeg({ width: 8, height: 8, data: Array.from(good.data) as unknown as Uint8Array }, 90), TypeError, /Uint8Array/, "data as an Array");
});

test("the native functions check their arguments themselves", () => {
	const decode = native("xs_image_decode");
	const encode = native("xs_image_encode");
	const frame = frames[0];
	throwsA(() => decode.call(undefined, frame, 3, new Uint8Array(160 * 120 * 3)), RangeError, /scale/, "native scale 3");
	throwsA(() => decode.call(undefined, frame, 2, new Uint8Array(10)), RangeError, /not the decoded size/, "native short output");
	throwsA(() => decode.call(undefined, frame, 1, new Uint8Array(320 * 240 * 3 + 3)), RangeError, /not the decoded size/, "native long output");
	throwsA(() => decode.call(undefined, "jpeg", 1, new Uint8Array(3)), TypeError, /jpeg must be/, "native jpeg string");
	throwsA(() => decode.call(undefined, frame, 1, {}), TypeError, /pixels must be/, "native pixels object");
	throwsA(() => decode.call(undefined, new Uint8Array(0), 1, new Uint8Array(3)), Error, /empty data/, "native empty");
	throwsA(() => decode.call(undefined, new Uint8Array([1, 2, 3]), 1, new Uint8Array(3)), Error, /image: corrupt JPEG: /, "native garbage");
	throwsA(() => decode.call(undefined, frame), TypeError, /needs/, "native missing arguments");
	throwsA(() => encode.call(undefined, new Uint8Array(12), 2, 2, 0), RangeError, /quality/, "native quality 0");
	throwsA(() => encode.call(undefined, new Uint8Array(11), 2, 2, 50), RangeError, /not width \* height \* 3/, "native short data");
	throwsA(() => encode.call(undefined, new Uint8Array(12), 2, -2, 50), RangeError, /height/, "native negative height");
	throwsA(() => encode.call(undefined, new Uint8Array(12), 2, 2.5, 50), RangeError, /height/, "native fractional height");
	throwsA(() => encode.call(undefined, 12, 2, 2, 50), TypeError, /data must be/, "native data number");
});

test("the codec still works after all those failures", () => {
	const pixels = decodeJpeg(frames[0], { scale: 2 });
	equal(`${pixels.width}x${pixels.height}`, "160x120", "decode after errors");
	equal(decodeJpeg(encodeJpeg(pixels, 75)).width, 160, "encode after errors");
});
