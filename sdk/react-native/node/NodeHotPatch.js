/**
 * NodeHotPatch.js - the 'HotPatch' native module for Node hosts (Jest), over
 * the hp_node addon (libhotpatch's C core). It does what HotPatchModule.java
 * and HotPatchModule.mm do on devices, in the same order:
 *   launch():   hp_open + hp_boot_begin before the "bundle" runs
 *   reload():   a new launch (hp_boot_begin again) on the installed bundle
 *   events:     HotPatchDownloadProgress through RCTDeviceEventEmitter
 *   setChannel: persisted beside the data dir, used from the next handle
 * Test code drives it as a device: `new NodeHotPatch(addon, config)` is one
 * process start; `reloads` counts JS restarts the API asked for.
 */
'use strict';

const fs = require('fs');

class NodeHotPatch {
  constructor(addon, config, emit) {
    this.addon = addon;
    this.config = config;
    this.emit = emit || (() => {});
    this.reloads = 0;
    this.launch();
  }

  channelFile() {
    return this.config.dataDir + '.channel';
  }

  openHandle() {
    let channel = this.config.channel;
    try {
      channel = fs.readFileSync(this.channelFile(), 'utf8').trim() || channel;
    } catch (e) {
      /* no override */
    }
    this.channel = channel;
    return this.addon.open({...this.config, channel});
  }

  launch() {
    this.h = this.openHandle();
    this.boot = this.addon.bootBegin(this.h);
    this.runningId = this.addon.state(this.h).id;
  }

  wrap(f) {
    try {
      return Promise.resolve(f());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  checkForUpdate() {
    return this.addon.check(this.h);
  }

  download(id) {
    return this.addon.download(this.h, id, p => this.emit('HotPatchDownloadProgress', p));
  }

  install(id) {
    return this.addon.install(this.h, id);
  }

  notifyAppReady() {
    return this.wrap(() => this.addon.bootOk(this.h));
  }

  reload() {
    this.reloads++;
    this.launch();
  }

  getCurrentRelease() {
    return this.wrap(() => {
      const s = this.addon.state(this.h);
      return {
        id: s.id,
        version: s.version,
        sequence: s.sequence,
        embedded: s.embedded,
        previous: s.previous,
        launches: s.launches,
        confirmed: s.confirmed,
        blocklist: s.blocklist,
        channel: this.channel,
        rolledBack: this.boot.rolledBack,
        bootReason: this.boot.reason,
        bootDetail: this.boot.detail,
        // what this launch runs (may differ from id until the next launch)
        running: this.runningId,
        reportsQueued: s.reportsQueued,
      };
    });
  }

  getPendingRelease() {
    return this.wrap(() => {
      const s = this.addon.state(this.h);
      if (s.id && s.id !== this.runningId) {
        return {id: s.id, installed: true};
      }
      return s.pending ? {id: s.pending, installed: false} : null;
    });
  }

  getRootStatus() {
    return this.wrap(() => this.addon.rootStatus(this.h));
  }

  clearUpdates() {
    return this.wrap(() => this.addon.clearUpdates(this.h));
  }

  setChannel(channel) {
    return this.wrap(() => {
      fs.writeFileSync(this.channelFile(), channel + '\n');
      this.h = this.openHandle(); // same launch, next check uses it
    });
  }

  flushReports() {
    return this.addon.reportFlush(this.h);
  }

  addListener() {}
  removeListeners() {}
}

module.exports = {NodeHotPatch};
