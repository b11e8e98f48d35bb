/*
 * The simulator's camera holds to the device's contract (Moddable's
 * modules/io/imagein/camera/esp32/camera.js and camera.c), and hardware/camera
 * runs over it as on the device. Run with a world on the bridge that streams
 * numbered frames while the camera is on (tests/integration/camera-contract.test.ts):
 * bytes 2 and 3 of each frame are its number.
 */
import { test, equal, ok, throws, bytesEqual } from "tests/harness";
import SensorCamera from "embedded:io/image/in/camera";
import type { DisposableFrame, SensorOptions } from "hardware/camera/frame";
import Camera from "hardware/camera";
import Timer from "timer";

/** A camera with a promise for each next onReadable. */
function open(options: Partial<SensorOptions> = {}): { camera: SensorCamera; readable: () => Promise<void> } {
	let waiting: (() => void) | undefined;
	const camera = new SensorCamera({ width: 320, height: 240, imageType: "jpeg", format: "buffer/disposable", onReadable: () => waiting?.(), ...options });
	return { camera, readable: () => new Promise<void>((resolve) => (waiting = resolve)) };
}

function number(frame: ArrayBuffer | DisposableFrame): number {
	const bytes = new Uint8Array(frame);
	return (bytes[2] << 8) | bytes[3];
}

const pause = (ms: number) => new Promise<void>((resolve) => Timer.set(() => resolve(), ms));

test("options are checked as camera.c checks them; a refused camera holds nothing", () => {
	throws(() => new SensorCamera({ imageType: "jpeg", format: "number" as never }), /invalid format/, "format number");
	throws(() => new SensorCamera({ imageType: "jpeg", format: "buffers" as never }), /invalid format/, "an unknown format");
	throws(() => new SensorCamera({ imageType: "png" as never, format: "buffer/disposable" }), /unknown imageType/, "imageType png");
	throws(() => new SensorCamera({ width: 2592, height: 1944, imageType: "jpeg" }), /unsupported dimensions/, "past the largest frame size");
	throws(() => new SensorCamera({ imageType: "jpeg", onReadable: 5 as never }), /not a function/, "onReadable 5");
	const camera = new SensorCamera({ width: 300, height: 200, imageType: "jpeg" });
	equal(camera.width, 320, "width snapped to a frame size");
	equal(camera.height, 240, "height snapped");
	camera.close();
});

test("a disposable frame is a host buffer with close() as its only method, unreadable once closed", async () => {
	const { camera, readable } = open();
	camera.start();
	await readable();
	const frame = camera.read() as DisposableFrame;
	ok(frame !== undefined, "a frame");
	ok(!(frame instanceof ArrayBuffer), "not an ArrayBuffer");
	equal(typeof (frame as unknown as { slice?: unknown }).slice, "undefined", "typeof slice");
	throws(() => ArrayBuffer.prototype.slice.call(frame, 0), /ArrayBuffer/, "ArrayBuffer.prototype.slice on it");
	equal(frame.camera, camera, "its camera");
	const bytes = new Uint8Array(frame);
	equal(bytes.length, frame.byteLength, "a view sees byteLength bytes");
	bytesEqual(bytes.subarray(0, 2), Uint8Array.of(0xFF, 0xD8), "the frame's first bytes");
	throws(() => { bytes[0] = 0; }, /read-only/, "it is read-only (petrified, as camera.c makes it)");
	frame.close();
	throws(() => new Uint8Array(frame).slice(), /detached/, "a view made after close()");
	throws(() => bytes.slice(), /detached/, "a view made before close()");
	frame.close(); // again: nothing
	camera.close();
});

test("stop() detaches the frames still held; closing them then does nothing", async () => {
	const { camera, readable } = open();
	camera.start();
	await readable();
	const frame = camera.read() as DisposableFrame;
	camera.stop();
	throws(() => new Uint8Array(frame).slice(), /detached/, "after stop()");
	frame.close();
	equal(camera.read(), undefined, "stop() freed the frames not read yet");
	camera.close();
});

test("three frames held fill the driver: later ones are dropped until one is closed", async () => {
	const { camera, readable } = open();
	camera.start();
	const frames: DisposableFrame[] = [];
	while (frames.length < 3) {
		const frame = camera.read() as DisposableFrame | undefined;
		if (frame)
			frames.push(frame);
		else
			await readable();
	}
	const third = number(frames[2]);
	await pause(300); // the world keeps streaming: nothing finds a free record
	equal(camera.read(), undefined, "read() with every record held");
	frames[0].close();
	await readable();
	const next = camera.read() as DisposableFrame;
	ok(number(next) > third, `a frame captured after the close (${number(next)} after ${third})`);
	for (const frame of [...frames, next])
		frame.close();
	camera.close();
});

test("format \"buffer\" hands out ArrayBuffers, and frees the driver's record at once", async () => {
	const { camera, readable } = open({ format: "buffer" });
	camera.start();
	for (let taken = 0; taken < 5;) {
		const frame = camera.read();
		if (!frame) {
			await readable();
			continue;
		}
		ok(frame instanceof ArrayBuffer, "an ArrayBuffer");
		taken++;
	}
	camera.close();
});

test("hardware/camera copies each frame and closes it: more frames than the driver has records", async () => {
	let waiting: (() => void) | undefined;
	const camera = new Camera({ width: 320, height: 240, onReadable: () => waiting?.() });
	camera.start();
	const seen: number[] = [];
	while (seen.length < 6) {
		const frame = camera.read();
		if (!frame) {
			await new Promise<void>((resolve) => (waiting = resolve));
			continue;
		}
		ok(frame instanceof ArrayBuffer, "an ArrayBuffer the caller owns");
		seen.push(number(frame));
	}
	camera.stop();
	ok(seen.every((n, i) => !i || (n > seen[i - 1])), `in capture order: ${seen.join(", ")}`);
	camera.close();
});

test("closing the camera detaches the frames still held; the garbage collector then frees it all", async () => {
	const { camera, readable } = open();
	camera.start();
	await readable();
	const frame = camera.read() as DisposableFrame;
	camera.close();
	throws(() => new Uint8Array(frame).slice(), /detached/, "a frame held past the camera's close()");
	frame.close();
	host.memory(); // a collection, with the camera and its frame unreachable once this returns
	const again = open();
	again.camera.start();
	await again.readable();
	ok(again.camera.read() !== undefined, "a new camera after the old one was collected");
	again.camera.close();
	host.memory();
});

test("a closed camera cannot be read, started or stopped; closing it again does nothing", () => {
	const { camera } = open();
	camera.close();
	throws(() => camera.read(), /closed/, "read");
	throws(() => camera.start(), /closed/, "start");
	throws(() => camera.stop(), /closed/, "stop");
	camera.close();
});
