// Registers the incident bot with the Mattermost web app. Everything the
// plugin does runs on the server (commands, buttons, dialogs, pages); this
// stub has nothing to build. It adds an "Incidents" entry to the main menu
// and a channel header button that open the plugin's incidents page, on
// web apps that offer those registry methods (others get nothing).
(function () {
    'use strict';
    var PLUGIN_ID = 'io.incidentbot.mattermost';

    function incidentsURL() {
        // window.basename is the web app's subpath ('' at the root).
        var base = (typeof window.basename === 'string') ? window.basename.replace(/\/+$/, '') : '';
        return base + '/plugins/' + PLUGIN_ID + '/incidents';
    }

    function openIncidents() {
        var w = window.open(incidentsURL(), '_blank', 'noopener');
        if (!w) {
            window.location.assign(incidentsURL());
        }
    }

    function headerIcon() {
        var React = window.React;
        if (!React || typeof React.createElement !== 'function') {
            return null;
        }
        return React.createElement('span', {className: 'icon', 'aria-hidden': 'true', title: 'Incidents'}, '\uD83D\uDEA8');
    }

    function IncidentBotPlugin() {}
    IncidentBotPlugin.prototype.initialize = function (registry) {
        if (!registry) {
            return;
        }
        try {
            if (typeof registry.registerMainMenuAction === 'function') {
                registry.registerMainMenuAction('Incidents', openIncidents, headerIcon());
            }
            var icon = headerIcon();
            if (icon && typeof registry.registerChannelHeaderButtonAction === 'function') {
                registry.registerChannelHeaderButtonAction(icon, openIncidents, 'Incidents', 'Open the incidents');
            }
        } catch (e) {
            // An older or newer web app with other signatures: no entries,
            // never a broken web app.
            if (window.console) {
                window.console.warn('incident bot: could not add the Incidents menu entries', e);
            }
        }
    };
    IncidentBotPlugin.prototype.uninitialize = function () {};

    if (typeof window !== 'undefined' && typeof window.registerPlugin === 'function') {
        window.registerPlugin(PLUGIN_ID, new IncidentBotPlugin());
    }
}());
