/**
 * What the page's hub tells a monitor — its stream's alerts, its flagged frames, sync, OTLP and storage errors — turned
 * into the monitor's events; and the monitor's sync and OTLP set up from its attributes. The bar shows what it keeps.
 */
import * as Comlink from 'comlink';
import type { ReactiveControllerHost } from 'lit';
import type { HubClient } from '../../hub/client.ts';
import type { AlertEvent, ConditionEvent } from '../../health/types.ts';
import type { FlaggedEvent } from '../../flagging/flagger.ts';
import type { ReadyInfo } from '../../inference/protocol.ts';
import type { MonitorErrorCode } from '../../lib/errors.ts';
import type { Tags } from '../../telemetry/record.ts';
import { sig3 as fmt } from '../format.ts';
import type { MonitorEmit } from '../monitor-events.ts';
import { type MonitorAttributes, otlpConfig, syncConfig } from './attributes.ts';
import { shortVersion } from '../../lib/short-version.ts';

/** The element subscribed for: its attributes, its source id and tags, the model it runs; it is updated when the bar changes. */
export interface SubscribedElement extends ReactiveControllerHost, MonitorAttributes {
  readonly sourceId: string;
  readonly notify: boolean;
  readonly tags: Tags;
  readonly readyInfo?: ReadyInfo;
}

/** The hub's callbacks for one element: alerts, flagged frames, sync and OTLP errors are subscribed once for its life. */
export class HubSubscriptions {
  /** alerts firing now on this monitor's stream, by rule */
  firing = new Map<string, AlertEvent>();
  /** the page's sync error, until a batch goes through */
  syncError?: { code: string; message: string };
  private alertsSubscribed = false;
  private flaggedSubscribed = false;
  private syncSubscribed = false;
  private otlpSubscribed = false;

  constructor(
    private readonly el: SubscribedElement,
    private readonly emit: MonitorEmit,
  ) {}

  /** Storage fallen back to memory, now or later while `current()`, is a `storage-unavailable` error (not fatal). */
  async storage(store: HubClient, current: () => boolean) {
    const status = await store.status();
    if (status?.mode === 'memory') this.emit('error', { code: 'storage-unavailable', message: status.error ?? 'storage unavailable', fatal: false });
    void store.onStatus(
      Comlink.proxy((s) => {
        if (current() && s.mode === 'memory') this.emit('error', { code: 'storage-unavailable', message: s.error ?? 'storage unavailable', fatal: false });
      }),
    );
  }

  /** Alerts of this monitor's stream become `alert` events (and, with `notify`, notifications). */
  async alerts(store: HubClient) {
    if (this.alertsSubscribed) return;
    this.alertsSubscribed = true;
    await store.onAlert(Comlink.proxy((a: AlertEvent) => this.onAlert(a)));
    await store.onCondition(Comlink.proxy((e: ConditionEvent) => this.onCondition(e)));
  }

  /** Frames of this monitor that the hub flagged become `flagged` events. */
  async flagged(store: HubClient) {
    if (this.flaggedSubscribed) return;
    this.flaggedSubscribed = true;
    await store.onFlagged(Comlink.proxy((f: FlaggedEvent) => this.onFlagged(f)));
  }

  /** Registers this monitor with the page's sync and starts it (when `sync-url` is set; OTLP with `otlp-url`); sync errors become `error` events. */
  async sync(store: HubClient, ready: ReadyInfo) {
    const config = syncConfig(this.el);
    const otlp = otlpConfig(this.el);
    await store.registerMonitor({ src: this.el.sourceId, mv: ready.modelVersion, backend: ready.backend, tags: this.el.tags, modelId: ready.modelId });
    if (otlp) {
      if (!this.otlpSubscribed) {
        this.otlpSubscribed = true;
        await store.onOtlpError(
          Comlink.proxy((e?: { code: string; message: string }) => {
            if (e) this.emit('error', { code: e.code as MonitorErrorCode, message: `OTLP export: ${e.message}`, fatal: false });
          }),
        );
      }
      await store.configureOtlp(otlp);
    }
    if (!config) return;
    if (!this.syncSubscribed) {
      this.syncSubscribed = true;
      await store.onSyncError(
        Comlink.proxy((e?: { code: string; message: string; status?: number }) => {
          if (e !== this.syncError) this.el.requestUpdate();
          this.syncError = e;
          if (e) this.emit('error', { code: e.code as MonitorErrorCode, message: e.message, fatal: false });
        }),
      );
    }
    await store.configureSync(config);
  }

  private onFlagged(f: FlaggedEvent) {
    if (f.src !== this.el.sourceId) return;
    this.emit('flagged', { inferenceId: f.id, reasons: f.reasons, time: f.t, tags: f.tags, modelVersion: f.mv, width: f.width, height: f.height, detections: f.detections, ...(f.reference ? { reference: f.reference } : {}), bytes: f.bytes, evicted: f.evicted });
  }

  /** This monitor's camera changed condition: a `condition` event, and the bar and panel redrawn. */
  private onCondition(e: ConditionEvent) {
    const ready = this.el.readyInfo;
    if (!ready || e.mv !== shortVersion(ready.modelVersion) || e.camera !== (this.el.cameraId ?? '')) return;
    this.el.requestUpdate();
    this.emit('condition', e);
  }

  private onAlert(a: AlertEvent) {
    const ready = this.el.readyInfo;
    if (!ready || a.mv !== shortVersion(ready.modelVersion) || a.camera_id !== (this.el.cameraId ?? '')) return;
    const key = a.rule;
    const firing = new Map(this.firing);
    if (a.state === 'firing') firing.set(key, a);
    else firing.delete(key);
    this.firing = firing;
    this.el.requestUpdate();
    this.emit('alert', { ...a, ruleId: a.rule, time: a.t });
    if (this.el.notify && a.state === 'firing' && typeof Notification !== 'undefined' && Notification.permission === 'granted') {
      try {
        const cls = a.classId !== undefined ? ` · ${ready.labels?.[a.classId] ?? `class ${a.classId}`}` : '';
        new Notification(a.name, { body: `${a.camera_id || 'camera'}${cls}: ${fmt(a.value)} (threshold ${fmt(a.threshold)})${a.cause ? ` — cause: ${a.cause}` : ''}`, tag: `${a.rule}|${a.camera_id}` });
      } catch {
        // notifications from a page need a service worker on some platforms: the event is enough
      }
    }
  }
}
