/*
 * The owner's app: onboarding, the events timeline, the clip player, the
 * device log with its audit chain, the phones the log names, and what was
 * refused. Plain DOM: a handful of lists and one form do not need a
 * framework. Everything it shows came through ./receiver.ts's checks.
 */
import { concat, fromHex, hex, isHex, own, sha256 } from "./bytes.js";
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
import { buildRequest, invitationMinutes, invitationPayload, Kind, newInvitationCode, removalPayload, requestTopic, rolePayload } from "./requests.js";
import { LiveRefused, LiveSession } from "./live.js";
import type { DeviceRecord, EventRecord, PhoneRecord, RefusedRecord } from "./store.js";

/** A phone as the device's audit log names it. */
interface PhoneEntry {
	deviceId: string;
	keyId: string;
	name: string;
	role: string;
	me: boolean;
}

/** A live view being watched. */
interface LiveState {
	session: LiveSession;
	started: number;
	acceptedAt?: number;
	frames: number;
	/** When the frames of the last 2 s arrived: the frame rate shown. */
	times: number[];
	url?: string;
	timer?: ReturnType<typeof setInterval>;
	/** The session's messages, opened one at a time in arrival order. */
	queue: Promise<void>;
	ended?: (reason: string) => void;
}

/** How long the app waits for the audit entry of a change it asked for: the device answers nothing else. */
const confirmMs = 20000;
/** How long it waits for a live view's accept: a refused start gets none. */
const acceptMs = 8000;

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
	/** This phone's key fingerprint (events.md § Key ids): what names it in the audit log. */
	keyId = "";
	/** The phones each device's log names now. */
	phones: PhoneEntry[] = [];
	/** The devices whose log says this phone was removed, with who removed it. */
	readonly removedFrom = new Map<string, string>();
	/** Changes asked for and not yet seen in the log. */
	readonly #pending: { what: string; deviceId: string; sentAt: number; match: (entry: AuditEntry) => boolean; done: (entry: AuditEntry) => void; timer: ReturnType<typeof setTimeout> }[] = [];
	#live: LiveState | undefined;

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
				// A change this phone asked for shows as the entry it made, arriving after the request.
				for (const pending of [...this.#pending])
					if (event.audit && (pending.deviceId === event.deviceId) && pending.match(event.audit))
						pending.done(event.audit);
			},
			onRefused: (record) => {
				this.refused.push(record);
				this.renderRefused();
			},
		});
		this.keyId = hex((await sha256(fromHex(this.phone.agreementPublicKey))).subarray(0, 8));
		this.#wireOnboarding();
		$("live").addEventListener("click", () => void this.#startLive());
		$("live-stop").addEventListener("click", () => void this.#stopLive());
		$("invite").addEventListener("click", () => void this.#invite());
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
		const phones: PhoneEntry[] = [];
		for (const device of this.receiver.devices) {
			const audit = [...this.events.values()].filter((event) => (event.deviceId === device.deviceId) && event.audit).sort((a, b) => a.receivedAt - b.receivedAt).map((event) => event.audit!);
			const problems = chainProblems(audit);
			lines.push(audit.length ? `Doorbell ${device.deviceId.slice(0, 8)}…: audit chain ${problems.length ? `has problems: ${problems.join("; ")}` : `holds (${audit.length} entries)`}` : `Doorbell ${device.deviceId.slice(0, 8)}…: no audit entries yet`);
			const named = new Map<string, PhoneEntry>();
			for (const entry of [...audit].sort((a, b) => a.seq - b.seq))
				this.#phoneFrom(device.deviceId, entry, named);
			phones.push(...named.values());
		}
		$("chain").textContent = lines.join(". ");
		this.phones = phones;
		this.#renderPhones();
	}

	/** The phones the device's audit log admits, with their roles: what the log says, not what the app assumes. */
	#phoneFrom(deviceId: string, entry: AuditEntry, phones: Map<string, PhoneEntry>): void {
		const id = String(entry.details.phone ?? "");
		if (entry.type === "admitted") {
			phones.set(id, { deviceId, keyId: id, name: String(entry.details.name ?? id), role: String(entry.details.role ?? "reader"), me: entry.details.key === this.phone.agreementPublicKey });
			if (id === this.keyId)
				this.removedFrom.delete(deviceId);
		}
		else if (entry.type === "removed") {
			phones.delete(id);
			// This phone's removal notice: the last entry it will be sent by this device.
			if (id === this.keyId)
				this.removedFrom.set(deviceId, entry.details.by === "itself" ? "itself" : `the owner ${String(entry.details.by)}`);
		}
		else if ((entry.type === "role") && phones.has(id))
			phones.get(id)!.role = String(entry.details.role);
		else if (entry.type === "reset")
			phones.clear();
	}

	/** This phone's role on a device, from its log (its pairing answer until the log says). */
	#myRole(deviceId: string): string | undefined {
		if (this.removedFrom.has(deviceId))
			return undefined;
		return this.phones.find((phone) => (phone.deviceId === deviceId) && phone.me)?.role ?? this.receiver.devices.find((device) => device.deviceId === deviceId)?.role;
	}

	#renderPhones(): void {
		const several = this.receiver.devices.length > 1;
		$("phones").replaceChildren(...this.phones.map((phone) => {
			const mine = this.#myRole(phone.deviceId) === "owner";
			const item = element("li", { "data-phone": phone.keyId },
				element("strong", {}, phone.name), ` (${phone.role})${phone.me ? ", this phone" : ""}${several ? `, doorbell ${phone.deviceId.slice(0, 8)}…` : ""}`,
				element("p", { class: "meta" }, "Phone key ", element("code", {}, phone.keyId)));
			const actions = element("div", { class: "actions" });
			if (mine || phone.me) {
				const remove = element("button", { type: "button", "aria-label": `Remove ${phone.me ? "this phone" : phone.name} (${phone.keyId})` }, "Remove");
				remove.addEventListener("click", () => void this.#remove(phone));
				actions.append(remove);
			}
			if (mine) {
				const other = phone.role === "owner" ? "member" : "owner";
				const role = element("button", { type: "button", "aria-label": `Make ${phone.me ? "this phone" : phone.name} (${phone.keyId}) ${other === "owner" ? "an owner" : "a member"}` }, other === "owner" ? "Make owner" : "Make member");
				role.addEventListener("click", () => void this.#changeRole(phone, other));
				actions.append(role);
			}
			if (actions.childElementCount)
				item.append(actions);
			return item;
		}));
		const removed = [...this.removedFrom].map(([deviceId, by]) => `This phone was removed from doorbell ${deviceId.slice(0, 8)}… by ${by}: it receives nothing from it any more.`);
		$("removed").textContent = removed.join(" ");
		$("removed").hidden = removed.length === 0;
		$<HTMLButtonElement>("invite").disabled = !this.#ownedDevice();
		$("invite").title = this.#ownedDevice() ? "" : "Only an owner of a doorbell can invite a phone";
	}

	/** The device this phone can invite to (the first it owns). */
	#ownedDevice(): DeviceRecord | undefined {
		return this.receiver.devices.find((device) => this.#myRole(device.deviceId) === "owner");
	}

	/** Sends one signed request and waits for the audit entry of its change; resolves with it, or rejects in words. */
	async #request(device: DeviceRecord, kind: number, payload: Uint8Array, what: string, match: (entry: AuditEntry) => boolean): Promise<AuditEntry> {
		const sentAt = Date.now();
		const seen = new Promise<AuditEntry>((resolve, reject) => {
			const pending = {
				what, deviceId: device.deviceId, sentAt, match,
				done: (entry: AuditEntry) => {
					clearTimeout(pending.timer);
					this.#pending.splice(this.#pending.indexOf(pending), 1);
					resolve(entry);
				},
				timer: setTimeout(() => {
					this.#pending.splice(this.#pending.indexOf(pending), 1);
					reject(new Error(`The doorbell has not confirmed: ${what}. It answers nothing when it refuses a request (its clock may not be set yet, or this phone may not have the role it needs); its own log says why.`));
				}, confirmMs),
			};
			this.#pending.push(pending);
		});
		const { sealed } = await buildRequest({
			kind, payload, deviceId: device.deviceId, agreementPublicKey: device.agreementPublicKey, signing: this.phone.signing, signingPublicKey: this.phone.signingPublicKey,
		});
		try {
			await this.receiver.publish(requestTopic(device.topicId), sealed);
		}
		catch (error) {
			seen.catch(() => {});
			throw new Error(`The request could not be sent: ${(error as Error).message}.`);
		}
		return seen;
	}

	async #invite(): Promise<void> {
		const device = this.#ownedDevice();
		const status = $("invitation");
		const error = $("phones-error");
		error.textContent = "";
		if (!device) {
			error.textContent = "Only an owner of a doorbell can invite a phone.";
			return;
		}
		const button = $<HTMLButtonElement>("invite");
		button.disabled = true;
		try {
			const code = newInvitationCode();
			status.textContent = "Sending the invitation…";
			const expires = new Date(Date.now() + invitationMinutes * 60000);
			const entry = await this.#request(device, Kind.Invite, invitationPayload(code), "the invitation window did not open",
				(found) => (found.type === "window") && (found.details.reason === "invitation") && (found.details.by === this.keyId));
			status.replaceChildren("One-time code ", element("strong", { id: "invitation-code" }, code),
				` for doorbell ${device.deviceId.slice(0, 8)}…: type it as the new phone's setup code before `, element("time", { datetime: expires.toISOString(), id: "invitation-expires" }, expires.toLocaleTimeString()),
				` (${invitationMinutes} minutes; it admits one phone, as a member). The doorbell opened the invitation (audit entry ${entry.seq}).`);
		}
		catch (caught) {
			status.textContent = "";
			error.textContent = (caught as Error).message;
		}
		finally {
			button.disabled = !this.#ownedDevice();
		}
	}

	async #remove(phone: PhoneEntry): Promise<void> {
		const device = this.receiver.devices.find((known) => known.deviceId === phone.deviceId);
		const error = $("phones-error");
		error.textContent = "";
		if (!device)
			return;
		if (!phone.me && (this.#myRole(phone.deviceId) !== "owner")) {
			error.textContent = "Only an owner can remove another phone; a phone may remove itself.";
			return;
		}
		$("invitation").textContent = `Removing ${phone.me ? "this phone" : phone.name}…`;
		try {
			const entry = await this.#request(device, Kind.Remove, removalPayload(phone.keyId), `${phone.name} was not removed`, (found) => (found.type === "removed") && (found.details.phone === phone.keyId));
			$("invitation").textContent = `${phone.me ? "This phone" : phone.name} was removed (audit entry ${entry.seq}).`;
		}
		catch (caught) {
			$("invitation").textContent = "";
			error.textContent = (caught as Error).message;
		}
	}

	async #changeRole(phone: PhoneEntry, role: "owner" | "member"): Promise<void> {
		const device = this.receiver.devices.find((known) => known.deviceId === phone.deviceId);
		const error = $("phones-error");
		error.textContent = "";
		if (!device)
			return;
		if ((role === "member") && phone.me && (this.phones.filter((other) => (other.deviceId === phone.deviceId) && (other.role === "owner")).length < 2)) {
			error.textContent = "This phone is the doorbell's only owner: make another phone an owner first (the doorbell refuses to be left without one).";
			return;
		}
		$("invitation").textContent = `Making ${phone.name} ${role === "owner" ? "an owner" : "a member"}…`;
		try {
			const entry = await this.#request(device, Kind.Role, rolePayload(phone.keyId, role), `${phone.name}'s role did not change`, (found) => (found.type === "role") && (found.details.phone === phone.keyId) && (found.details.role === role));
			$("invitation").textContent = `${phone.name} is now ${role === "owner" ? "an owner" : "a member"} (audit entry ${entry.seq}).`;
		}
		catch (caught) {
			$("invitation").textContent = "";
			error.textContent = (caught as Error).message;
		}
	}

	/** Starts a live view of the first doorbell this phone is paired with (live.md). */
	async #startLive(): Promise<void> {
		const status = $("live-status");
		const device = this.receiver.devices.find((known) => !this.removedFrom.has(known.deviceId));
		if (!device) {
			status.textContent = this.removedFrom.size ? "Live view: this phone was removed from its doorbell; an owner must invite it again." : "Live view: pair a doorbell first.";
			return;
		}
		if (this.#live)
			await this.#stopLive();
		const button = $<HTMLButtonElement>("live");
		button.disabled = true;
		const image = $<HTMLImageElement>("live-image");
		image.dataset.frames = "0";
		image.dataset.state = "starting";
		status.textContent = "Asking the doorbell for a live view…";
		let session: LiveSession | undefined;
		try {
			session = await LiveSession.start(device, this.phone, 60);
			const live: LiveState = { session, started: Date.now(), frames: 0, times: [], queue: Promise.resolve() };
			this.#live = live;
			let accepted: () => void = () => {};
			const acceptance = new Promise<void>((resolve) => (accepted = resolve));
			// Subscribed before asking: the accept is the first message on the topic, at QoS 0.
			await this.receiver.listen(session.topic, (message) => {
				live.queue = live.queue.then(() => this.#liveMessage(live, message, accepted));
			});
			await this.receiver.publish(session.requestTopic, session.sealedRequest);
			let timer: ReturnType<typeof setTimeout> | undefined;
			const answered = await Promise.race([acceptance.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), acceptMs)))]);
			clearTimeout(timer);
			if (!answered) {
				await this.#endLive(live, "");
				status.textContent = "The doorbell did not answer the live view request. It answers nothing when it refuses one: four live views a minute at most, three phones at once, and only for a phone it still has.";
				return;
			}
			live.acceptedAt = Date.now();
			$("live-panel").hidden = false;
			image.dataset.state = "live";
			status.textContent = `Live view of doorbell ${device.deviceId.slice(0, 8)}…, ${session.width}x${session.height}, for ${session.granted} s.`;
			live.timer = setInterval(() => this.#liveInfo(live), 250);
			this.#liveInfo(live);
		}
		catch (caught) {
			if (this.#live?.session === session && this.#live)
				await this.#endLive(this.#live, "");
			status.textContent = `Live view failed: ${(caught as Error).message}`;
		}
		finally {
			button.disabled = false;
		}
	}

	async #liveMessage(live: LiveState, message: Uint8Array, accepted: () => void): Promise<void> {
		if (this.#live !== live)
			return;
		try {
			if (!live.session.accepted) {
				await live.session.accept(message);
				accepted();
				return;
			}
			const opened = await live.session.open(message);
			if (opened.type === "end") {
				await this.#endLive(live, opened.reason);
				return;
			}
			const url = URL.createObjectURL(new Blob([own(opened.jpeg)], { type: "image/jpeg" }));
			const image = $<HTMLImageElement>("live-image");
			image.src = url;
			if (live.url)
				URL.revokeObjectURL(live.url);
			live.url = url;
			live.frames++;
			const now = Date.now();
			live.times.push(now);
			while (live.times.length && (live.times[0] < now - 2000))
				live.times.shift();
			image.dataset.frames = String(live.frames);
		}
		catch (error) {
			if (!(error instanceof LiveRefused))
				throw error;
			$("live-image").dataset.refused = String(live.session.refused);
		}
	}

	#liveInfo(live: LiveState): void {
		if (!live.acceptedAt)
			return;
		const now = Date.now();
		const left = Math.max(0, live.session.granted - Math.floor((now - live.acceptedAt) / 1000));
		const span = live.times.length > 1 ? (live.times[live.times.length - 1] - live.times[0]) / 1000 : 0;
		const fps = span > 0 ? (live.times.length - 1) / span : 0;
		$("live-info").textContent = `${fps.toFixed(1)} frames a second, ${left} s left, ${live.frames} frames${live.session.refused ? `, ${live.session.refused} refused` : ""}`;
		// A doorbell that vanished sends no end: the app stops waiting at the limit.
		if (now > live.acceptedAt + live.session.granted * 1000 + 3000)
			void this.#endLive(live, "limit (no end message came)");
	}

	async #stopLive(): Promise<void> {
		const live = this.#live;
		if (!live)
			return;
		if (live.session.accepted) {
			$("live-status").textContent = "Stopping the live view…";
			const ended = new Promise<void>((resolve) => (live.ended = () => resolve()));
			try {
				await this.receiver.publish(live.session.requestTopic, await live.session.stopRequest());
				await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 3000))]);
			}
			catch (error) {
				$("live-status").textContent = `The stop could not be sent (${(error as Error).message}); the doorbell ends the view at its limit.`;
			}
		}
		if (this.#live === live)
			await this.#endLive(live, "stopped here (no end message came)");
	}

	async #endLive(live: LiveState, reason: string): Promise<void> {
		if (this.#live !== live)
			return;
		this.#live = undefined;
		clearInterval(live.timer);
		live.session.close();
		await this.receiver.unlisten(live.session.topic);
		const image = $<HTMLImageElement>("live-image");
		image.dataset.state = "ended";
		if (reason) {
			$("live-status").textContent = `Live view ended: ${reason}. ${live.frames} frames shown${live.session.refused ? `, ${live.session.refused} refused` : ""}.`;
			$("live-info").textContent = "";
		}
		$("live-panel").hidden = true;
		if (live.url)
			URL.revokeObjectURL(live.url);
		image.src = "/no-picture.svg";
		live.ended?.(reason);
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
