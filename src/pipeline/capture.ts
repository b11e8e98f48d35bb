/*
 * Capture: the camera, and the frames an event keeps.
 *
 * With a pre-roll (preRollFrames > 0) the camera runs all the time and the
 * last preRollFrames frames, taken at `fps`, stay in a ring buffer of copies
 * (on the device the XS chunk heap, and so the copies, are in PSRAM: docs/
 * porting.md, memory budget). A trigger then has at once
 *
 * - a snapshot: the newest frame in the buffer (or, when there is none, or
 *   only stale ones, the first frame after the trigger), for the notification;
 * - a clip: the buffer's frames, then the next `frames` frames.
 *
 * Without a pre-roll the camera is started at the trigger and stopped after
 * the clip, as before. A clip that times out returns the frames it got and
 * says why, so an event is never lost to a camera fault; it only carries
 * fewer frames. A camera that cannot be opened, or that fails while read,
 * does not stop the device either: it is opened again at the next trigger.
 */
import Camera from "hardware/camera";
import Timer from "timer";
import type { ClipMetadata } from "./clip";
import { now } from "hardware/clock";
import { log } from "device/log";

export interface Burst {
	readonly metadata: ClipMetadata;
	readonly frames: readonly Uint8Array[];
}

export interface Snapshot {
	/** The JPEG, absent when there is none: then `error` says why. */
	readonly frame?: Uint8Array;
	/** Wall-clock ms of its capture. */
	readonly at?: number;
	readonly width: number;
	readonly height: number;
	readonly error?: string;
}

export interface CaptureOptions {
	readonly width: number;
	readonly height: number;
	/** Frames kept per second (the sensor may run faster: frames in between are let go). */
	readonly fps: number;
	/** Frames kept from before a trigger; 0: no pre-roll, the camera runs only for a clip. */
	readonly preRollFrames: number;
}

interface Kept {
	readonly bytes: Uint8Array;
	readonly at: number;
}

interface Recording {
	readonly wanted: number;
	readonly frames: Kept[];
	readonly startedAt: number;
	readonly resolve: (burst: Burst) => void;
	timer: ReturnType<typeof Timer.set> | undefined;
}

interface SnapshotWait {
	readonly resolve: (snapshot: Snapshot) => void;
	timer: ReturnType<typeof Timer.set> | undefined;
}

export default class Capture {
	#options: CaptureOptions;
	#camera: Camera | undefined;
	#running = false;
	/** The pre-roll: the last preRollFrames frames kept, oldest first. */
	#ring: Kept[] = [];
	#lastKeptAt = -Infinity;
	/** Clips being recorded: each trigger's starts at once, so several can overlap. */
	#recordings: Recording[] = [];
	#waits: SnapshotWait[] = [];
	/** The live view's taps (live/service): every frame the camera gives, not thinned to `fps`. */
	#watchers: ((frame: Uint8Array, at: number) => void)[] = [];

	/** The interval between kept frames, ms. */
	#interval: number;
	/** The size the sensor is asked for: the configuration's, or the live view's while one asks for more (resize). */
	#size: { width: number; height: number };

	constructor(options: CaptureOptions) {
		this.#options = options;
		this.#interval = 1000 / options.fps;
		this.#size = { width: options.width, height: options.height };
		const unavailable = this.#open();
		if (unavailable)
			log.error(`${unavailable}: events will carry no frames until it opens (tried again at each trigger)`);
		else if (options.preRollFrames > 0)
			this.#run();
	}

	get busy(): boolean {
		return this.#recordings.length > 0;
	}

	#whenIdle: (() => void)[] = [];

	/**
	 * Resolves when no clip is being recorded. The detect stage waits for it:
	 * an inference holds the CPU for most of a second, and the frames that
	 * come meanwhile are read late, in a bunch, and all but one let go, so a
	 * clip recorded under inference would have gaps.
	 */
	whenIdle(): Promise<void> {
		if (!this.#recordings.length)
			return Promise.resolve();
		return new Promise((resolve) => this.#whenIdle.push(resolve));
	}

	/**
	 * The frame for a notification: the newest in the pre-roll if it is
	 * recent (within two frame intervals of now), else the first that comes
	 * within `timeoutMs`; never a wait for anything but the camera.
	 */
	snapshot(timeoutMs: number): Promise<Snapshot> {
		const newest = this.#ring[this.#ring.length - 1];
		if (newest && (now() - newest.at <= 2 * this.#interval))
			return Promise.resolve(this.#snapshotOf(newest));
		return new Promise((resolve) => {
			const wait: SnapshotWait = { resolve, timer: undefined };
			const unavailable = this.#open() ?? this.#run();
			if (unavailable) {
				resolve({ width: this.#widthNow(), height: this.#heightNow(), error: unavailable });
				return;
			}
			wait.timer = Timer.set(() => {
				wait.timer = undefined;
				this.#waits = this.#waits.filter((other) => other !== wait);
				resolve({ width: this.#widthNow(), height: this.#heightNow(), error: `camera: no frame within ${timeoutMs} ms` });
				this.#idle();
			}, timeoutMs);
			this.#waits.push(wait);
		});
	}

	/**
	 * The clip of a trigger: the pre-roll's frames (those taken at most
	 * preRollFrames intervals before `triggeredAt`), then `frames` more.
	 * Every clip holds preRollFrames + frames frames: when the ring holds
	 * fewer (the camera has just started), the shortfall is recorded after
	 * the trigger, so that a clip's length says nothing of how long the
	 * camera had been running (nor of anything that depends on timing, such
	 * as whether a detection was running).
	 */
	clip(frames: number, timeoutMs: number, triggeredAt: number): Promise<Burst> {
		return new Promise((resolve) => {
			const { preRollFrames } = this.#options;
			const oldest = triggeredAt - ((preRollFrames + 1) * this.#interval);
			const preRoll = this.#ring.filter((frame) => frame.at >= oldest);
			const before = preRoll.length;
			const after = frames + (preRollFrames - before);
			timeoutMs += (after - frames) * this.#interval;
			const recording: Recording = { wanted: preRollFrames + frames, frames: preRoll, startedAt: preRoll.length ? preRoll[0].at : now(), resolve, timer: undefined };
			this.#recordings.push(recording);
			const unavailable = this.#open() ?? this.#run();
			if (unavailable) {
				this.#finish(recording, unavailable);
				return;
			}
			recording.timer = Timer.set(() => {
				recording.timer = undefined;
				this.#finish(recording, `timeout: ${recording.frames.length - before} of ${after} frames after the trigger in ${timeoutMs} ms`);
			}, timeoutMs);
		});
	}

	/**
	 * Every frame the camera gives, as it comes, until the returned function
	 * is called (the live view). The camera runs while anyone watches. A
	 * watcher is called from the camera's callback and must not throw; it
	 * gets the camera's copy, which the pre-roll may keep too: it must not
	 * change it.
	 */
	watch(watcher: (frame: Uint8Array, at: number) => void): { unwatch: () => void; error?: string } {
		this.#watchers = [...this.#watchers, watcher];
		const unwatch = () => {
			this.#watchers = this.#watchers.filter((other) => other !== watcher);
			this.#idle();
		};
		const unavailable = this.#open() ?? this.#run();
		return unavailable ? { unwatch, error: unavailable } : { unwatch };
	}

	/**
	 * Asks the sensor for another size (the live view's VGA; back to the
	 * configuration's with no size): the camera is opened again at it. The
	 * pre-roll of the old size is let go, so a clip that starts afterwards
	 * holds one size (a shortfall is made up after its trigger); a clip being
	 * recorded across the change keeps the frames it has, of both sizes
	 * (docs/protocol/live.md § Size). Returns why the camera could not be
	 * opened, if it could not.
	 */
	resize(size?: { width: number; height: number }): string | undefined {
		const wanted = size ?? { width: this.#options.width, height: this.#options.height };
		if ((wanted.width === this.#size.width) && (wanted.height === this.#size.height))
			return undefined;
		this.#size = { width: wanted.width, height: wanted.height };
		const running = this.#running;
		this.#ring = [];
		try {
			if (running)
				this.#camera?.stop();
			this.#camera?.close();
		}
		catch (error) {
			log.warn(`camera: ${(error as Error).message}`);
		}
		this.#camera = undefined;
		this.#running = false;
		const unavailable = this.#open() ?? ((running || (this.#options.preRollFrames > 0) || this.#watchers.length) ? this.#run() : undefined);
		return unavailable;
	}

	get width(): number {
		return this.#widthNow();
	}

	get height(): number {
		return this.#heightNow();
	}

	close(): void {
		for (const recording of [...this.#recordings])
			this.#finish(recording, "capture closed");
		for (const wait of this.#waits.splice(0)) {
			if (wait.timer)
				Timer.clear(wait.timer);
			wait.resolve({ width: this.#widthNow(), height: this.#heightNow(), error: "capture closed" });
		}
		this.#ring = [];
		this.#camera?.close();
		this.#camera = undefined;
		this.#running = false;
	}

	#widthNow(): number {
		return this.#camera?.width ?? this.#size.width;
	}

	#heightNow(): number {
		return this.#camera?.height ?? this.#size.height;
	}

	#snapshotOf(frame: Kept): Snapshot {
		return { frame: frame.bytes, at: frame.at, width: this.#widthNow(), height: this.#heightNow() };
	}

	/** The camera, opened now if it could not be before; why not, if it still cannot. */
	#open(): string | undefined {
		if (this.#camera)
			return undefined;
		try {
			this.#camera = new Camera({ width: this.#size.width, height: this.#size.height, onReadable: () => this.#drain() });
			return undefined;
		}
		catch (error) {
			return `camera: ${(error as Error).message}`;
		}
	}

	/** Starts the camera if it is not running; why not, if it cannot. */
	#run(): string | undefined {
		if (this.#running)
			return undefined;
		try {
			this.#camera!.start();
			this.#running = true;
			return undefined;
		}
		catch (error) {
			return `camera: ${(error as Error).message}`;
		}
	}

	/** Without a pre-roll, the camera stops when nobody waits for a frame. */
	#idle(): void {
		if ((this.#options.preRollFrames > 0) || this.#recordings.length || this.#waits.length || this.#watchers.length || !this.#running)
			return;
		this.#running = false;
		try {
			this.#camera?.stop();
		}
		catch (error) {
			log.warn(`camera: ${(error as Error).message}`);
		}
	}

	/** The camera failed: drop it, so that the next trigger opens it again. */
	#fail(reason: string): void {
		log.warn(`${reason}: the camera is opened again at the next trigger`);
		for (const recording of [...this.#recordings])
			this.#finish(recording, reason);
		for (const wait of this.#waits.splice(0)) {
			if (wait.timer)
				Timer.clear(wait.timer);
			wait.resolve({ width: this.#widthNow(), height: this.#heightNow(), error: reason });
		}
		this.#ring = [];
		try {
			this.#camera?.close();
		}
		catch {
			// It failed already; what matters is that it is let go.
		}
		this.#camera = undefined;
		this.#running = false;
	}

	/** The camera's callback: nothing may escape it, or the device resets. */
	#drain(): void {
		for (;;) {
			let buffer: ArrayBuffer | undefined;
			try {
				buffer = this.#camera?.read();
			}
			catch (error) {
				this.#fail(`camera: ${(error as Error).message}`);
				return;
			}
			if (!buffer)
				return;
			if (!this.#running)
				continue; // a frame that arrived after stop(): let it go
			const at = now();
			if (this.#watchers.length) {
				const frame = new Uint8Array(buffer);
				for (const watcher of this.#watchers)
					watcher(frame, at);
			}
			// Kept at `fps`: a frame earlier than 80% of an interval after the last one is let go.
			if (at - this.#lastKeptAt < 0.8 * this.#interval)
				continue;
			this.#lastKeptAt = at;
			this.#keep({ bytes: new Uint8Array(buffer), at });
		}
	}

	#keep(frame: Kept): void {
		const { preRollFrames } = this.#options;
		if (preRollFrames > 0) {
			this.#ring.push(frame);
			if (this.#ring.length > preRollFrames)
				this.#ring.shift();
		}
		for (const wait of this.#waits.splice(0)) {
			if (wait.timer)
				Timer.clear(wait.timer);
			wait.resolve(this.#snapshotOf(frame));
		}
		for (const recording of [...this.#recordings]) {
			recording.frames.push(frame);
			if (recording.frames.length >= recording.wanted)
				this.#finish(recording);
		}
		this.#idle();
	}

	#finish(recording: Recording, cameraError?: string): void {
		this.#recordings = this.#recordings.filter((other) => other !== recording);
		if (recording.timer)
			Timer.clear(recording.timer);
		const metadata: ClipMetadata = {
			width: this.#widthNow(),
			height: this.#heightNow(),
			format: "jpeg",
			frameCount: recording.frames.length,
			startedAt: recording.startedAt,
			frameTimes: recording.frames.map((frame) => frame.at),
			...(cameraError ? { cameraError } : {}),
		};
		recording.resolve({ metadata, frames: recording.frames.map((frame) => frame.bytes) });
		this.#idle();
		if (!this.#recordings.length) {
			for (const resolve of this.#whenIdle.splice(0))
				resolve();
		}
	}
}

Object.freeze(Capture.prototype);
