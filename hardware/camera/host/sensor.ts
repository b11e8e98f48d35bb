/*
 * Moddable's embedded:io/image/in/camera as the simulator and lin stand it
 * in, held to the contract of the device's (modules/io/imagein/camera/esp32/
 * camera.js and camera.c, Moddable SDK 8.2.3), so that hardware/camera
 * (hardware/camera/moddable/camera.ts) runs here exactly as on the device:
 *
 * - options as camera.c reads them: format "buffer" (the default) or
 *   "buffer/disposable", anything else RangeError "invalid format"; imageType
 *   "jpeg" (the only kind our frames are; any other string is RangeError
 *   "unknown imageType", and the pixel formats the device also offers are
 *   refused here with a message that says so); width and height snapped to
 *   the sensor's frame sizes, Error "unsupported dimensions" past the
 *   largest; onReadable a function, or Error "not a function";
 * - frames in the driver's three records (frames.c): under
 *   "buffer/disposable" read() hands out a host buffer whose only method is
 *   close(), under "buffer" an ArrayBuffer; a frame that finds no free record
 *   is dropped; stop() frees them all and detaches the frames still held;
 * - onReadable(0) once per frame while started, with the camera as `this`:
 *   camera.c passes 0, not a count;
 * - read, start and stop on a closed camera throw.
 *
 * Where the frames come from is the platform's (FrameSource): the world over
 * the bridge in the simulator (hardware/camera/sim/sensor.ts), the scene's
 * resources in lin (hardware/camera/lin/sensor.ts).
 */
import type { DisposableFrame, SensorOptions } from "hardware/camera/frame";

export interface FrameSource {
	/** The frame the driver grabs while it starts (camera.c's init), kept ready until the first stop; if the source has one. */
	initialFrame?(): ArrayBuffer | undefined;
	/** Begins capturing at the snapped size: `deliver` each frame, with the size it really has. */
	start(width: number, height: number, deliver: (width: number, height: number, frame: ArrayBuffer) => void): void;
	stop(): void;
	close(): void;
}

/** esp32-camera's frame sizes, as camera.c orders them: by width, then by height. */
const frameSizes: readonly (readonly [number, number])[] = Object.freeze([
	[96, 96], [128, 128], [160, 120], [176, 144], [240, 176], [240, 240], [320, 240], [320, 320],
	[400, 296], [480, 320], [640, 480], [720, 1280], [800, 600], [864, 1536], [1024, 768], [1080, 1920],
	[1280, 720], [1280, 1024], [1600, 1200], [1920, 1080], [2048, 1536], [2560, 1440], [2560, 1600], [2560, 1920],
].map((size) => Object.freeze(size as [number, number])));

/** The size a request snaps to: the first at least as wide; if that one is too short, the next of the same width. */
function snap(width: number, height: number): readonly [number, number] {
	for (let i = 0; i < frameSizes.length; i++) {
		const size = frameSizes[i];
		if (size[0] < width)
			continue;
		const next = frameSizes[i + 1];
		if ((size[1] < height) && next && (next[0] === size[0]))
			return next;
		return size;
	}
	throw new Error("unsupported dimensions");
}

/** ToInteger, as xsmcToInteger converts an option. */
function integer(value: unknown): number {
	const number = Math.trunc(Number(value));
	return Number.isFinite(number) ? number : 0;
}

const formats = Object.freeze(["number", "buffer", "string", "socket/tcp", "uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "buffer/disposable"]);

/** camera.js's DisposableHostBuffer: frames.c makes the instances, host buffers with this prototype. */
class DisposableHostBuffer {
	close(): void {
		native("xs_frames_close").call(this);
	}
}
Object.freeze(DisposableHostBuffer.prototype);

export class HostCamera extends Native("xs_frames_destructor") {
	readonly #source: FrameSource;
	readonly #onReadable: ((count: number) => void) | undefined;
	readonly #disposable: boolean;
	#width: number;
	#height: number;
	#running = false;
	#closed = false;
	/** As camera.c's builtinInitializeTarget leaves it on the instance. */
	target?: unknown;

	/** `source` is made once the options are known to be good: a refused camera holds nothing. */
	constructor(options: SensorOptions, source: () => FrameSource) {
		super();
		let format = "buffer";
		if (("format" in options) && options.format) {
			format = String(options.format);
			if (!formats.includes(format))
				format = "invalid";
		}
		if ((format !== "buffer") && (format !== "buffer/disposable"))
			throw new RangeError("invalid format");
		const width = ("width" in options) ? integer(options.width) : 240;
		const height = ("height" in options) ? integer(options.height) : 176;
		if (!("imageType" in options) || (typeof options.imageType !== "string"))
			throw new RangeError("camera: our frames are JPEG; this stand-in has no pixel formats (imageType \"jpeg\")");
		if (options.imageType !== "jpeg")
			throw new RangeError("unknown imageType");
		const onReadable = options.onReadable;
		if ((onReadable !== undefined) && (onReadable !== null) && (typeof onReadable !== "function"))
			throw new Error("not a function");
		if ("target" in options)
			this.target = options.target;
		[this.#width, this.#height] = snap(width, height);
		native("xs_frames_open").call(this);
		this.#source = source();
		this.#onReadable = onReadable ?? undefined;
		this.#disposable = format === "buffer/disposable";
		const initial = this.#source.initialFrame?.();
		if (initial)
			native("xs_frames_put").call(this, initial);
	}

	get width(): number {
		this.#check();
		return this.#width;
	}
	get height(): number {
		this.#check();
		return this.#height;
	}
	get imageType(): "jpeg" {
		this.#check();
		return "jpeg";
	}
	get format(): "buffer" | "buffer/disposable" {
		this.#check();
		return this.#disposable ? "buffer/disposable" : "buffer";
	}

	start(): void {
		this.#check();
		if (this.#running)
			return;
		this.#running = true;
		this.#source.start(this.#width, this.#height, (width, height, frame) => this.#deliver(width, height, frame));
	}

	stop(): void {
		this.#check();
		if (this.#running) {
			this.#running = false;
			this.#source.stop();
		}
		this.#clear();
	}

	read(): DisposableFrame | ArrayBuffer | undefined {
		this.#check();
		if (!this.#disposable)
			return native("xs_frames_read").call(this);
		return native("xs_frames_read").call(this, DisposableHostBuffer.prototype, Object.setPrototypeOf);
	}

	close(): void {
		if (this.#closed)
			return;
		if (this.#running) {
			this.#running = false;
			this.#source.stop();
		}
		this.#clear();
		this.#source.close();
		this.#closed = true;
	}

	#check(): void {
		if (this.#closed)
			throw new SyntaxError("camera: closed");
	}

	#clear(): void {
		native("xs_frames_clear").call(this);
	}

	#deliver(width: number, height: number, frame: ArrayBuffer): void {
		if (!this.#running)
			return;
		// The size the sensor really produces, as the device reports it.
		this.#width = width;
		this.#height = height;
		if (!native("xs_frames_put").call(this, frame))
			return; // no free record: dropped, as camera.c drops it, with no callback
		this.#onReadable?.call(this, 0);
	}
}

Object.freeze(HostCamera.prototype);
