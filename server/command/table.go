package command

import (
	"context"
	"fmt"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/incidentbot/mattermost-incident-bot/server/incident"
	"github.com/incidentbot/mattermost-incident-bot/server/wire"
)

// subcommand is one row of the table: its name, usage hint and help drive
// dispatch, autocomplete and /incident help alike.
type subcommand struct {
	name string
	hint string
	help string
	// takesRef: the command acts on an incident, taken from the channel or a
	// leading #id.
	takesRef bool
	args     func(*model.AutocompleteData)
	run      func(context.Context, *Handler, Call) (Reply, error)
}

// hintAfterRef is the usage hint without its optional incident reference.
func (s *subcommand) hintAfterRef() string {
	return strings.TrimSpace(strings.TrimPrefix(s.hint, "[#id]"))
}

var table []*subcommand

func init() {
	table = []*subcommand{
		{name: "start", hint: "[title] [--severity S1|S2|S3|S4] [--summary text] [--runbook name]",
			help: "Start an incident: its own channel, a card, an announcement. No title opens a dialog.",
			args: startArgs, run: runStart},
		{name: "update", hint: "[#id] <text>", takesRef: true,
			help: "Post a status update to the incident channel and the broadcast channel. No text opens a dialog.",
			run:  runUpdate},
		{name: "note", hint: "[#id] [--lesson] <text>", takesRef: true,
			help: "Add a note to the timeline; --lesson marks a lesson or contributing factor for the postmortem.", run: runNote},
		{name: "severity", hint: "[#id] <S1|S2|S3|S4>", takesRef: true,
			help: "Change the severity.", args: severityArgs, run: runSeverity},
		{name: "rota-for", hint: "[#id] <rota>", takesRef: true,
			help: "Have another rota staff the incident: its open roles go to that rota's people on duty, its next pages to that rota's channel.", run: runRotaFor},
		{name: "mitigate", hint: "[#id]", takesRef: true,
			help: "Mark the incident mitigated: impact stopped, cause not yet fixed.", run: runMitigate},
		{name: "resolve", hint: "[#id] [summary]", takesRef: true,
			help: "Resolve the incident, with an optional summary of cause and fix.", run: runResolve},
		{name: "reopen", hint: "[#id] [reason]", takesRef: true,
			help: "Reopen a resolved incident.", run: runReopen},
		{name: "role", hint: "[#id] <role> @user", takesRef: true,
			help: "Give an open role to someone (roles: im, l1, l2, l3, rm). Nobody gets a second role.", args: roleArg, run: runRole},
		{name: "handover", hint: "[#id] <role> @user", takesRef: true,
			help: "Hand a role over; it completes when the new holder presses I have it.", args: roleArg, run: runHandover},
		{name: "page", hint: "[#id] <role|@user> [message]", takesRef: true,
			help: "Page someone: the holder of a role on the incident, or a person. Both a post and a direct message, until acknowledged; unanswered, it escalates.",
			args: pageArgs, run: runPage},
		{name: "hotfix", hint: "[#id] [--author @user] [--rm @user] <description>", takesRef: true,
			help: "Request a hotfix: the release manager is paged and the sign-off groups approve it in staging and again after deploy. No description shows the incident's hotfixes.", run: runHotfix},
		{name: "signoff", hint: "[#id] <group> approve|reject [reason]", takesRef: true,
			help: "Sign the hotfix's current stage off for your group; a rejection needs a reason. The sign-off post's buttons do the same.", args: signoffArgs, run: runSignoff},
		{name: "deployed", hint: "[#id]", takesRef: true,
			help: "Release manager: mark the staging-approved hotfix deployed, which opens the after-deploy sign-off.", run: runDeployed},
		{name: "hotfix-cancel", hint: "[#id] [reason]", takesRef: true,
			help: "Withdraw the active hotfix (its requester, author or release manager, the incident manager, admins).", run: runHotfixCancel},
		{name: "signoff-group", hint: "[list | set <group> @user... | remove <group>]",
			help: "Sign-off groups and their members; system and rota admins edit them.", args: signoffGroupArgs, run: runSignoffGroup},
		{name: "freeze", hint: "",
			help: "Show whether releases are frozen: while an S1 incident is open, only its hotfixes may ship.", run: runFreeze},
		{name: "rota", hint: "[show|set|add|remove|override|swap|away|handoff|channel]",
			help: "The weekly delivery rota: who is on duty, and (admins) editing it.", args: rotaArgs, run: runRota},
		{name: "impact", hint: "[#id] <text>", takesRef: true,
			help: "Record who or what the incident affected, for the postmortem.", run: runImpact},
		{name: "action", hint: "[#id] add <text> [@owner] [--due <date>] | done <n> | list", takesRef: true,
			help: "Action items: follow-up tasks with an owner and a due date, listed in the postmortem.", args: actionArgs, run: runAction},
		{name: "runbook", hint: "list | show <name> | set <name> | remove <name> | use [#id] <name>",
			help: "Runbooks: named Markdown checklists incidents follow. Admins set and remove them (each change a new version); `use` attaches one to an incident.",
			args: runbookArgs, run: runRunbook},
		{name: "step", hint: "[#id] done|skip|undo <n> [reason] | add <text> [role] | list", takesRef: true,
			help: "Work the incident's runbook checklist: mark a step done, skip it with a reason, undo, or add a step the runbook lacked.",
			args: stepArgs, run: runStep},
		{name: "postmortem", hint: "[id]", takesRef: true,
			help: "Post the postmortem generated from the timeline (a draft while the incident is open), with its Markdown file.", args: incidentArg, run: runPostmortem},
		{name: "stats", hint: "[--since 30d|90d|<date>]",
			help: "Incidents by severity, mean and p90 time to acknowledge, mitigate and resolve, pages and role stints per person, overdue action items.", args: statsArgs, run: runStats},
		{name: "list", hint: "",
			help: "List open and mitigated incidents, newest first.", run: runList},
		{name: "timeline", hint: "[id]", takesRef: true,
			help: "Show an incident's timeline.", args: incidentArg, run: runTimeline},
		{name: "archive", hint: "export [--since <date>] | import",
			help: "The incident archive (system admins): export every incident, with timelines, rota and runbooks, to one file; import one from another server.",
			args: archiveArgs, run: runArchive},
		{name: "notify", hint: "[email on|off | webhook <url>|off]",
			help: "How else you are reached when paged: by email, or a webhook (an SMS or phone gateway). No argument shows it.", args: notifyArgs, run: runNotify},
		{name: "maintenance", hint: "add <rota=name | condition> <from|now> <to|+2h> [reason] | list | end <id>",
			help: "Maintenance windows: during planned work, matching alerts are recorded but open no incident; those still firing when it ends open theirs.", args: maintenanceArgs, run: runMaintenance},
		{name: "heartbeat", hint: "add <name> --every 5m [--grace 2m] [--severity S2] [--rota <name>] | list | token <name> | remove <name>",
			help: "Heartbeats (dead man's switches): monitoring calls the URL; when it stops, an incident opens, and its return is noted.", args: heartbeatArgs, run: runHeartbeat},
		{name: "setup", hint: "[--rota <name>]",
			help: "Set the bot up in two dialogs (system admins): the broadcast, postmortem and rota channels, the weekly handoff and the rota's people; then start a test incident.", run: runSetup},
		{name: "work", hint: "[list | retry <#> | drop <#>]",
			help: "Work the bot set aside after it failed too often (system admins): list it, retry it once the cause is fixed, or drop it.",
			args: workArgs, run: runWork},
		{name: "help", hint: "",
			help: "Show this help.", run: func(context.Context, *Handler, Call) (Reply, error) { return Reply{Text: helpText()}, nil }},
	}
}

func lookup(verb string) (*subcommand, bool) {
	for _, s := range table {
		if s.name == verb {
			return s, true
		}
	}
	return nil, false
}

// AutocompleteData builds the command's autocomplete tree from the table.
func AutocompleteData() *model.AutocompleteData {
	root := model.NewAutocompleteData(Trigger, "[command]", "Run incidents: "+names())
	for _, s := range table {
		sub := model.NewAutocompleteData(s.name, s.hint, s.help)
		if s.args != nil {
			s.args(sub)
		}
		root.AddCommand(sub)
	}
	return root
}

// Command is the registration for the server.
func Command() *model.Command {
	return &model.Command{
		Trigger:          Trigger,
		DisplayName:      "Incident",
		Description:      "Run incidents from chat.",
		AutoComplete:     true,
		AutoCompleteDesc: "Run incidents: " + names(),
		AutoCompleteHint: "[command]",
		AutocompleteData: AutocompleteData(),
	}
}

func names() string {
	n := make([]string, len(table))
	for i, s := range table {
		n[i] = s.name
	}
	return strings.Join(n, ", ")
}

func helpText() string {
	var b strings.Builder
	b.WriteString("#### /incident commands\n")
	for _, s := range table {
		fmt.Fprintf(&b, "- `/%s %s` %s\n", Trigger, strings.TrimSpace(s.name+" "+s.hint), s.help)
		if s.name == "rota" {
			b.WriteString(rotaHelp()[1:] + "\n")
		}
	}
	b.WriteString("\nInside an incident channel, commands act on that incident; elsewhere, name it with `#<id>` right after the command.")
	return b.String()
}

func shortHelp() string {
	return fmt.Sprintf("Commands: %s. `/%s help` explains each.", names(), Trigger)
}

func severityOptions() []model.AutocompleteListItem {
	items := make([]model.AutocompleteListItem, 0, len(incident.Severities))
	for _, s := range incident.Severities {
		items = append(items, model.AutocompleteListItem{Item: s.String(), HelpText: s.Label()})
	}
	return items
}

func startArgs(a *model.AutocompleteData) {
	a.AddNamedStaticListArgument("severity", "How bad is it?", false, severityOptions())
	a.AddNamedTextArgument("summary", "What is happening, for whom", "text", "", false)
	a.AddNamedTextArgument("runbook", "The runbook to follow (`/incident runbook list`)", "name", "", false)
}

func severityArgs(a *model.AutocompleteData) {
	a.AddStaticListArgument("New severity", true, severityOptions())
}

func incidentArg(a *model.AutocompleteData) {
	a.AddDynamicListArgument("Incident id (optional inside an incident channel)", wire.IncidentsAutocompletePath[1:], false)
}
