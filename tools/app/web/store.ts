/*
 * What the app keeps, in IndexedDB, so that a reload keeps it: the phone's
 * key pairs (WebCrypto CryptoKeyPairs, made non-extractable: IndexedDB
 * stores the key objects themselves, and their private halves can never be
 * read out), each paired device with its keys, topic and anti-replay window,
 * what was opened (the timeline), what was refused, and each device's audit
 * entries. An event and the window that accepted it are written in one
 * transaction, which completes before the event is shown.
 */
import type { ReplayState } from "./replay.js";
import type { AuditEntry } from "./audit.js";

export interface PhoneRecord {
	id: "phone";
	name: string;
	agreement: CryptoKeyPair;
	agreementPublicKey: string;
	signing: CryptoKeyPair;
	signingPublicKey: string;
	/** The MQTT client id: a persistent session, so that QoS 1 events wait at the broker while the app is away. */
	clientId: string;
}

export interface DeviceRecord {
	deviceId: string;
	topicId: string;
	signingPublicKey: string;
	agreementPublicKey: string;
	fingerprint: string;
	role: string;
	pairedAt: number;
	replay: ReplayState;
}

export interface EventRecord {
	/** The event id. */
	id: string;
	deviceId: string;
	seq: number;
	/** The device's time (header). */
	time: number;
	receivedAt: number;
	kind: string;
	metadata: Record<string, unknown>;
	notes: string[];
	snapshot?: Blob;
	thumbnail?: Blob;
	frames: Blob[];
	/** An audit event's entry, when it verified. */
	audit?: AuditEntry;
}

export interface RefusedRecord {
	id?: number;
	receivedAt: number;
	topic: string;
	reason: string;
	deviceId?: string;
	seq?: number;
}

export class Store {
	readonly #db: IDBDatabase;

	private constructor(db: IDBDatabase) {
		this.#db = db;
	}

	static open(name = "doorward"): Promise<Store> {
		return new Promise((resolve, reject) => {
			const request = indexedDB.open(name, 1);
			request.onupgradeneeded = () => {
				const db = request.result;
				db.createObjectStore("phone", { keyPath: "id" });
				db.createObjectStore("devices", { keyPath: "deviceId" });
				db.createObjectStore("events", { keyPath: "id" });
				db.createObjectStore("refused", { keyPath: "id", autoIncrement: true });
			};
			request.onsuccess = () => resolve(new Store(request.result));
			request.onerror = () => reject(request.error ?? new Error("IndexedDB would not open"));
		});
	}

	#all<T>(store: string): Promise<T[]> {
		return new Promise((resolve, reject) => {
			const request = this.#db.transaction(store).objectStore(store).getAll();
			request.onsuccess = () => resolve(request.result as T[]);
			request.onerror = () => reject(request.error);
		});
	}

	#write(stores: string[], fill: (tx: IDBTransaction) => void): Promise<void> {
		return new Promise((resolve, reject) => {
			const tx = this.#db.transaction(stores, "readwrite", { durability: "strict" });
			fill(tx);
			tx.oncomplete = () => resolve();
			tx.onerror = () => reject(tx.error ?? new Error("IndexedDB write failed"));
			tx.onabort = () => reject(tx.error ?? new Error("IndexedDB write aborted"));
		});
	}

	async phone(): Promise<PhoneRecord | undefined> {
		return (await this.#all<PhoneRecord>("phone"))[0];
	}

	savePhone(phone: PhoneRecord): Promise<void> {
		return this.#write(["phone"], (tx) => tx.objectStore("phone").put(phone));
	}

	devices(): Promise<DeviceRecord[]> {
		return this.#all("devices");
	}

	saveDevice(device: DeviceRecord): Promise<void> {
		return this.#write(["devices"], (tx) => tx.objectStore("devices").put(device));
	}

	events(): Promise<EventRecord[]> {
		return this.#all("events");
	}

	refused(): Promise<RefusedRecord[]> {
		return this.#all("refused");
	}

	/** The event and the device's window after it, together (events.md § Phone processing, step 9). */
	accept(event: EventRecord, device: DeviceRecord): Promise<void> {
		return this.#write(["events", "devices"], (tx) => {
			tx.objectStore("events").put(event);
			tx.objectStore("devices").put(device);
		});
	}

	refuse(record: RefusedRecord): Promise<void> {
		return this.#write(["refused"], (tx) => tx.objectStore("refused").add(record));
	}
}

/** The phone's key pairs, made now if this browser has none: X25519 (events are wrapped to it) and Ed25519 (its requests), both non-extractable. */
export async function ensurePhone(store: Store): Promise<PhoneRecord> {
	const known = await store.phone();
	if (known)
		return known;
	const agreement = await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]) as CryptoKeyPair;
	const signing = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]) as CryptoKeyPair;
	const raw = async (key: CryptoKey) => [...new Uint8Array(await crypto.subtle.exportKey("raw", key))].map((byte) => byte.toString(16).padStart(2, "0")).join("");
	const random = [...crypto.getRandomValues(new Uint8Array(6))].map((byte) => byte.toString(16).padStart(2, "0")).join("");
	const phone: PhoneRecord = {
		id: "phone", name: "Browser", agreement, agreementPublicKey: await raw(agreement.publicKey),
		signing, signingPublicKey: await raw(signing.publicKey), clientId: `app-${random}`,
	};
	await store.savePhone(phone);
	return phone;
}
