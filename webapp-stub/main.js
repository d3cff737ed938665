// Registers the incident bot with the Mattermost web app. Everything the
// plugin does runs on the server (commands, buttons, dialogs); this stub
// exists so the web app knows the plugin and has nothing to build.
(function () {
    'use strict';
    var PLUGIN_ID = 'io.incidentbot.mattermost';

    function IncidentBotPlugin() {}
    IncidentBotPlugin.prototype.initialize = function () {};
    IncidentBotPlugin.prototype.uninitialize = function () {};

    if (typeof window !== 'undefined' && typeof window.registerPlugin === 'function') {
        window.registerPlugin(PLUGIN_ID, new IncidentBotPlugin());
    }
}());
