/*
 * The owner's app: onboarding, the events timeline, the clip player, the
 * device log with its audit chain, the phones the log names, and what was
 * refused. Plain DOM: a handful of lists and one form do not need a
 * framework. Everything it shows came through ./receiver.ts's checks.
 */
import { concat, fromHex, hex, isHex, sha256 } from "./bytes.js";
import { signingKeyProblem } from "./envelope.js";
import { chainProblems } from "./audit.js";
import type { AuditEntry } from "./audit.js";
import { OnboardingError, pair, parseLabel } from "./onboarding.js";
import type { PairingAnswer } from "./onboarding.js";
import { bluetoothAvailable, bluetoothLink, webSocketLink } from "./links.js";
import { emptyReplayState } from "./replay.js";
import { Receiver } from "./receiver.js";
import type { BrokerConfig, ConnectionState } from "./receiver.js";
import { ensurePhone, Store } from "./store.js";
import type { DeviceRecord, EventRecord, PhoneRecord, RefusedRecord } from "./store.js";

interface AppConfig {
	broker: BrokerConfig;
	/** The simulator's BLE link, as a WebSocket path on this origin; absent for a real device. */
	link?: string;
	/** The simulator's stand-in for a BLE scan: the device in range, by its (public) device id. */
	nearby?: { deviceId: string }[];
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
	const node = document.createElement(tag);
	for (const [name, value] of Object.entries(attributes))
		node.setAttribute(name, value);
	node.append(...children);
	return node;
}

async function fetchConfig(): Promise<AppConfig> {
	const response = await fetch("/config.json", { cache: "no-store" });
	if (!response.ok)
		throw new Error(`the app's configuration: HTTP ${response.status}`);
	return await response.json() as AppConfig;
}

const urls = new Map<Blob, string>();
function urlOf(blob: Blob): string {
	let url = urls.get(blob);
	if (!url) {
		url = URL.createObjectURL(blob);
		urls.set(blob, url);
	}
	return url;
}

const CLOCK_FLOOR = Date.UTC(2024, 0, 1);
function describeTime(time: number): { text: string; iso?: string } {
	if (time < CLOCK_FLOOR)
		return { text: `${(time / 1000).toFixed(1)} s after power-up (clock not set)` };
	const date = new Date(time);
	return { text: date.toLocaleString(), iso: date.toISOString() };
}

function timeElement(time: number): HTMLElement {
	const { text, iso } = describeTime(time);
	return iso ? element("time", { datetime: iso }, text) : element("span", { class: "meta" }, text);
}

/** The label's fingerprint from the device's two public keys (events.md § Pairing and fingerprints). */
async function fingerprintOf(signing: Uint8Array, agreement: Uint8Array): Promise<string> {
	return hex((await sha256(concat(signing, agreement))).subarray(0, 16)).match(/.{4}/g)!.join("-");
}

class App {
	readonly store: Store;
	readonly phone: PhoneRecord;
	config: AppConfig;
	receiver!: Receiver;
	readonly events = new Map<string, EventRecord>();
	readonly refused: RefusedRecord[] = [];

	constructor(store: Store, phone: PhoneRecord, config: AppConfig) {
		this.store = store;
		this.phone = phone;
		this.config = config;
	}

	async start(): Promise<void> {
		const [devices, events, refused] = await Promise.all([this.store.devices(), this.store.events(), this.store.refused()]);
		for (const event of events)
			this.events.set(event.id, event);
		this.refused.push(...refused);
		this.receiver = new Receiver(this.store, this.phone, devices, this.events.keys(), {
			onState: (state, detail) => this.#connection(state, detail),
			onEvent: (event) => {
				this.events.set(event.id, event);
				this.render();
			},
			onRefused: (record) => {
				this.refused.push(record);
				this.renderRefused();
			},
		});
		this.#wireOnboarding();
		$("live").addEventListener("click", () => {
			$("live-status").textContent = "Live view is not available: this doorbell's firmware has no live-view protocol yet, so there is nothing to show.";
		});
		$("add-device").addEventListener("click", () => {
			$("pair-error").textContent = "";
			this.#showOnboarding(true);
			$("code").focus();
		});
		$("clip-close").addEventListener("click", () => $<HTMLDialogElement>("clip").close());
		this.render();
		this.renderRefused();
		this.#showOnboarding(devices.length === 0);
		this.receiver.connect(this.config.broker);
	}

	#connection(state: ConnectionState, detail?: string): void {
		const status = $("connection");
		status.dataset.state = state;
		status.textContent = (state === "offline") ? `offline${detail === "reconnecting" ? ", reconnecting…" : ""}` : state;
	}

	#showOnboarding(show: boolean): void {
		$("onboarding").hidden = !show;
		// Nothing to go back to before the first doorbell.
		$("pair-cancel").hidden = this.receiver.devices.length === 0;
		$("home").hidden = this.receiver.devices.length === 0;
		if (show) {
			const nearby = this.config.nearby?.[0]?.deviceId;
			const field = $<HTMLInputElement>("device-id");
			if (nearby && !field.value)
				field.value = nearby;
			if (!this.config.link)
				$<HTMLSelectElement>("transport").value = "bluetooth";
		}
	}

	#wireOnboarding(): void {
		const form = $<HTMLFormElement>("pair-form");
		if (!bluetoothAvailable())
			$<HTMLOptionElement>("transport").querySelector("option[value=bluetooth]")!.textContent = "Bluetooth (this browser has no Web Bluetooth)";
		$("code").addEventListener("input", () => {
			try {
				const label = parseLabel($<HTMLInputElement>("code").value);
				if (label.deviceId)
					$<HTMLInputElement>("device-id").value = label.deviceId;
			}
			catch {
				// Not complete yet: checked on Pair.
			}
		});
		$("pair-cancel").addEventListener("click", () => {
			$("pair-error").textContent = "";
			$("pair-progress").textContent = "";
			this.#showOnboarding(false);
			$("add-device").focus();
		});
		form.addEventListener("submit", (event) => {
			event.preventDefault();
			void this.#pair();
		});
	}

	async #pair(): Promise<void> {
		const button = $<HTMLButtonElement>("pair");
		const progress = $("pair-progress");
		const error = $("pair-error");
		error.textContent = "";
		button.disabled = true;
		let deviceId = "";
		try {
			const label = parseLabel($<HTMLInputElement>("code").value);
			if (!label.deviceId && !$<HTMLInputElement>("device-id").value && this.config.link) {
				this.config = await fetchConfig();
				this.#showOnboarding(true);
			}
			deviceId = label.deviceId ?? $<HTMLInputElement>("device-id").value.trim().toLowerCase();
			if (!isHex(deviceId, 16))
				throw new OnboardingError("input", "The device id is 32 hex digits, on the label (or in its QR payload).");
			const ssid = $<HTMLInputElement>("ssid").value;
			const passphrase = $<HTMLInputElement>("passphrase").value;
			if (ssid && !/^[\x20-\x7e]{8,63}$/.test(passphrase))
				throw new OnboardingError("input", "A Wi-Fi (WPA2) passphrase is 8 to 63 printable characters.");
			if (new TextEncoder().encode(ssid).length > 32)
				throw new OnboardingError("input", "A Wi-Fi network name is at most 32 bytes.");
			progress.textContent = "Connecting to the doorbell…";
			const transport = $<HTMLSelectElement>("transport").value;
			const link = (transport === "bluetooth") ? await bluetoothLink() : await webSocketLink(new URL(this.config.link ?? "/link", location.href).href.replace(/^http/, "ws"));
			progress.textContent = "Pairing…";
			this.receiver.pairing.add(deviceId);
			const { answer, wifi } = await pair(link, {
				deviceId, code: label.code, agreementKey: this.phone.agreementPublicKey, signingKey: this.phone.signingPublicKey, name: this.phone.name,
				...(ssid ? { wifi: { ssid, passphrase } } : {}),
			});
			const device = await this.#remember(answer, label.fingerprint);
			await this.receiver.addDevice(device);
			progress.textContent = "";
			$("paired").textContent = `Paired as ${device.role} with doorbell ${device.deviceId.slice(0, 8)}…, fingerprint ${device.fingerprint}.${wifi === "joined" ? ` It joined ${ssid}.` : ""}`;
			if ((wifi !== "joined") && (wifi !== "not sent"))
				error.textContent = `Paired, but the doorbell could not join ${ssid}: ${wifi === "wrong passphrase" ? "wrong passphrase" : wifi === "network not found" ? "the network was not found" : wifi}.`;
			$<HTMLInputElement>("code").value = "";
			$<HTMLInputElement>("passphrase").value = "";
			$("home").hidden = false;
			if (wifi === "joined" || wifi === "not sent")
				$("onboarding").hidden = true;
			this.render();
		}
		catch (caught) {
			progress.textContent = "";
			error.textContent = (caught instanceof OnboardingError) ? caught.message : `Pairing failed: ${(caught as Error).message}`;
		}
		finally {
			this.receiver.pairing.delete(deviceId);
			button.disabled = false;
		}
	}

	/** Checks the device's answer (events.md § Pairing and fingerprints) and makes its record. */
	async #remember(answer: PairingAnswer, labelFingerprint?: string): Promise<DeviceRecord> {
		if (!answer.ok || !isHex(answer.signingPublicKey, 32) || !isHex(answer.agreementPublicKey, 32) || !isHex(answer.deviceId, 16) || !isHex(answer.topicId, 16))
			throw new OnboardingError("protocol", "The doorbell's answer is malformed: not pairing.");
		const signing = fromHex(answer.signingPublicKey);
		const problem = signingKeyProblem(signing);
		if (problem)
			throw new OnboardingError("protocol", `The doorbell's signing key is ${problem}: not pairing.`);
		const fingerprint = await fingerprintOf(signing, fromHex(answer.agreementPublicKey));
		if (fingerprint !== answer.fingerprint)
			throw new OnboardingError("protocol", "The doorbell's fingerprint does not match its keys: not pairing.");
		if (labelFingerprint && (labelFingerprint !== fingerprint))
			throw new OnboardingError("protocol", `The doorbell's fingerprint ${fingerprint} is not the label's ${labelFingerprint}: not pairing.`);
		const known = this.receiver.devices.find((device) => device.deviceId === answer.deviceId);
		if (known && ((known.signingPublicKey !== answer.signingPublicKey) || (known.agreementPublicKey !== answer.agreementPublicKey)))
			throw new OnboardingError("protocol", `Doorbell ${answer.deviceId} was paired with other keys (fingerprint ${known.fingerprint}): not pairing.`);
		return {
			deviceId: answer.deviceId, topicId: answer.topicId, signingPublicKey: answer.signingPublicKey, agreementPublicKey: answer.agreementPublicKey,
			fingerprint, role: String(answer.role ?? "owner"), pairedAt: Date.now(), replay: known?.replay ?? emptyReplayState(),
		};
	}

	render(): void {
		this.#renderDevices();
		this.#renderTimeline();
		this.#renderLog();
	}

	#renderDevices(): void {
		$("devices").replaceChildren(...this.receiver.devices.map((device) => element("li", {},
			element("strong", {}, `Doorbell ${device.deviceId.slice(0, 8)}…`), ` (you are its ${device.role})`,
			element("p", { class: "meta" }, "Fingerprint ", element("code", {}, device.fingerprint)),
			element("p", { class: "meta" }, `Last event ${device.replay.highest}`))));
		$("home").hidden = this.receiver.devices.length === 0;
	}

	#renderTimeline(): void {
		const pictures = [...this.events.values()].filter((event) => !["update", "audit"].includes(event.kind));
		const clipOf = new Map<string, EventRecord>();
		for (const event of pictures) {
			const follows = event.metadata.follows;
			if ((typeof follows === "string") && this.events.has(follows))
				clipOf.set(follows, event);
		}
		const items = pictures.filter((event) => !((typeof event.metadata.follows === "string") && this.events.has(event.metadata.follows)));
		items.sort((a, b) => (b.receivedAt - a.receivedAt) || (b.seq - a.seq));
		$("events").replaceChildren(...items.map((event) => this.#eventItem(event, event.metadata.notification === true ? clipOf.get(event.id) : event)));
		$("no-events").hidden = items.length > 0;
	}

	#eventItem(event: EventRecord, clip: EventRecord | undefined): HTMLLIElement {
		const notification = event.metadata.notification === true;
		const kind = event.kind;
		const picture = event.snapshot ?? clip?.thumbnail ?? clip?.frames[0];
		const { text } = describeTime(event.time);
		const alt = picture
			? `${event.snapshot ? "Snapshot" : clip?.thumbnail ? "Face" : "First frame"} of the ${kind} at ${text}`
			: `No picture: ${String(event.metadata.snapshotError ?? "none was sent")}`;
		const image = element("img", { src: picture ? urlOf(picture) : "/no-picture.svg", alt, width: "160" });
		const details = element("div", {},
			element("p", { class: "what" }, ({ ring: "Ring", motion: "Motion", face: "Motion, with a face" } as Record<string, string>)[kind] ?? kind), timeElement(event.time),
			element("p", { class: "meta" }, `Doorbell ${event.deviceId.slice(0, 8)}…, event ${event.seq}${clip && clip !== event ? ` and ${clip.seq}` : ""}`));
		const notes = [...event.notes, ...(clip && clip !== event ? clip.notes : [])];
		for (const note of notes)
			details.append(element("p", { class: "warning", role: "note" }, `Warning: ${note}`));
		if (clip) {
			const faces = clip.metadata.faces as { status?: string; faces?: unknown[] } | undefined;
			const count = faces?.faces?.length ?? 0;
			details.append(element("p", { class: "meta" }, faces?.status === "found" ? `${count} face${count === 1 ? "" : "s"} found` : faces?.status === "none" ? "No face found" : "Face detection unavailable"));
			if (clip.thumbnail && event.snapshot)
				details.append(element("img", { class: "thumb", src: urlOf(clip.thumbnail), alt: "The face the doorbell found" }));
			if (clip.frames.length) {
				const play = element("button", { type: "button" }, `Play clip (${clip.frames.length} frames)`);
				play.addEventListener("click", () => void playClip(clip));
				details.append(play);
			}
			else
				details.append(element("p", { class: "meta" }, `No frames${clip.metadata.cameraError ? `: ${String(clip.metadata.cameraError)}` : ""}`));
		}
		else if (notification)
			details.append(element("p", { class: "meta" }, "The clip has not arrived yet."));
		return element("li", { class: "event", "data-kind": kind, "data-event-id": event.id }, image, details);
	}

	#renderLog(): void {
		const entries = [...this.events.values()].filter((event) => ["update", "audit"].includes(event.kind)).sort((a, b) => b.seq - a.seq);
		$("log").replaceChildren(...entries.map((event) => {
			const line = (event.kind === "audit" && event.audit)
				? `Audit entry ${event.audit.seq}: ${event.audit.type} ${Object.entries(event.audit.details).filter(([name]) => !["key", "signingKey"].includes(name)).map(([name, value]) => `${name} ${String(value)}`).join(", ")}`
				: `Update: ${Object.entries((event.metadata.details ?? {}) as Record<string, unknown>).map(([name, value]) => `${name} ${String(value)}`).join(", ")}`;
			const item = element("li", {}, element("span", {}, line), " ", timeElement(event.audit?.time ?? event.time));
			for (const note of event.notes)
				item.append(element("p", { class: "warning", role: "note" }, `Warning: ${note}`));
			return item;
		}));
		const lines: string[] = [];
		const phones = new Map<string, { name: string; role: string; me: boolean }>();
		for (const device of this.receiver.devices) {
			const audit = [...this.events.values()].filter((event) => (event.deviceId === device.deviceId) && event.audit).sort((a, b) => a.receivedAt - b.receivedAt).map((event) => event.audit!);
			const problems = chainProblems(audit);
			lines.push(audit.length ? `Doorbell ${device.deviceId.slice(0, 8)}…: audit chain ${problems.length ? `has problems: ${problems.join("; ")}` : `holds (${audit.length} entries)`}` : `Doorbell ${device.deviceId.slice(0, 8)}…: no audit entries yet`);
			for (const entry of [...audit].sort((a, b) => a.seq - b.seq))
				this.#phoneFrom(entry, phones);
		}
		$("chain").textContent = lines.join(". ");
		$("phones").replaceChildren(...[...phones.values()].map((phone) => element("li", {}, element("strong", {}, phone.name), ` (${phone.role})${phone.me ? ", this phone" : ""}`)));
	}

	/** The phones the device's audit log admits, with their roles: what the log says, not what the app assumes. */
	#phoneFrom(entry: AuditEntry, phones: Map<string, { name: string; role: string; me: boolean }>): void {
		const id = String(entry.details.phone ?? "");
		if (entry.type === "admitted")
			phones.set(id, { name: String(entry.details.name ?? id), role: String(entry.details.role ?? "reader"), me: entry.details.key === this.phone.agreementPublicKey });
		else if (entry.type === "removed")
			phones.delete(id);
		else if ((entry.type === "role") && phones.has(id))
			phones.get(id)!.role = String(entry.details.role);
		else if (entry.type === "reset")
			phones.clear();
	}

	renderRefused(): void {
		$("refused").replaceChildren(...[...this.refused].reverse().map((record) => element("li", { "data-refused": "true" },
			element("strong", {}, "Refused"), `: ${record.reason}`, element("p", { class: "meta" }, `on ${record.topic}, ${new Date(record.receivedAt).toLocaleString()}`))));
	}
}

let playing = 0;

/** Plays a clip on the canvas at the rate it was captured (its frameTimes), with the face boxes the device found. */
async function playClip(clip: EventRecord): Promise<void> {
	const dialog = $<HTMLDialogElement>("clip");
	const canvas = $<HTMLCanvasElement>("clip-canvas");
	const status = $("clip-status");
	const run = ++playing;
	const width = Number(clip.metadata.width) || 320;
	const height = Number(clip.metadata.height) || 240;
	canvas.width = width;
	canvas.height = height;
	canvas.dataset.state = "loading";
	canvas.dataset.frame = "0";
	$("clip-heading").textContent = `Clip of the ${clip.kind}, ${describeTime(clip.time).text}`;
	if (!dialog.open)
		dialog.showModal();
	const again = $("clip-play");
	again.onclick = () => void playClip(clip);
	const bitmaps = await Promise.all(clip.frames.map((frame) => createImageBitmap(frame)));
	const times = Array.isArray(clip.metadata.frameTimes) ? clip.metadata.frameTimes as number[] : undefined;
	const faces = ((clip.metadata.faces as { faces?: { frame: number; box: number[] }[] } | undefined)?.faces ?? []);
	const context = canvas.getContext("2d")!;
	const span = times && times.length > 1 ? times[times.length - 1] - times[0] : 0;
	const fps = span > 0 ? ((times!.length - 1) * 1000 / span) : undefined;
	canvas.dataset.state = "playing";
	for (let i = 0; i < bitmaps.length; i++) {
		if (run !== playing)
			return;
		context.drawImage(bitmaps[i], 0, 0, width, height);
		context.lineWidth = Math.max(2, width / 160);
		context.strokeStyle = "#ffcc00";
		for (const face of faces.filter((candidate) => candidate.frame === i))
			context.strokeRect(face.box[0], face.box[1], face.box[2], face.box[3]);
		canvas.dataset.frame = String(i + 1);
		const boxes = faces.filter((candidate) => candidate.frame === i).length;
		status.textContent = `Frame ${i + 1} of ${bitmaps.length}${fps ? `, captured at ${fps.toFixed(1)} frames a second` : ", capture times unknown"}${boxes ? `, ${boxes} face${boxes === 1 ? "" : "s"} boxed` : ""}`;
		if (i + 1 < bitmaps.length) {
			const wait = times ? Math.max(0, times[i + 1] - times[i]) : 200;
			await new Promise((resolve) => setTimeout(resolve, wait));
		}
	}
	canvas.dataset.state = "ended";
	for (const bitmap of bitmaps)
		bitmap.close();
}

async function main(): Promise<void> {
	try {
		const store = await Store.open();
		const phone = await ensurePhone(store);
		const app = new App(store, phone, await fetchConfig());
		await app.start();
		document.body.dataset.ready = "true";
	}
	catch (error) {
		const message = element("p", { role: "alert", class: "error" }, `The app could not start: ${(error as Error).message}`);
		document.querySelector("main")!.prepend(message);
	}
}

void main();
