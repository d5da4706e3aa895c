package xapi

// AgentKeys returns the Agent.Key values that a GET `agent` filter matches
// for this statement: the actor and, when the object is an Agent or Group,
// the object; for groups their members too, since the spec counts a group
// whose member matches as a match. With related (related_agents=true) it
// also returns the authority, context.instructor, context.team and the same
// properties of a SubStatement. Anonymous groups contribute only their
// members. Statements that target another statement through a StatementRef
// match when the target matches; that lookup is the storage layer's job.
func (s Statement) AgentKeys(related bool) []string {
	var keys []string
	seen := map[string]bool{}
	var add func(a *Agent)
	add = func(a *Agent) {
		if a == nil {
			return
		}
		if k := a.Key(); k != "" && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
		for i := range a.Members {
			add(&a.Members[i])
		}
	}
	add(&s.Actor)
	add(s.ObjectAgent)
	if related {
		add(s.Authority)
		add(s.Instructor)
		add(s.Team)
		if s.Sub != nil {
			add(&s.Sub.Actor)
			add(s.Sub.ObjectAgent)
			add(s.Sub.Instructor)
			add(s.Sub.Team)
		}
	}
	return keys
}

// ActivityIDs returns the activity ids that a GET `activity` filter matches
// for this statement: the object id when the object is an Activity; with
// related (related_activities=true) also every context activity id and the
// object and context activities of a SubStatement.
func (s Statement) ActivityIDs(related bool) []string {
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	addStatement := func(st *Statement) {
		if st.ObjectType == "Activity" {
			add(st.ObjectID)
		}
		if !related {
			return
		}
		for _, typ := range contextActTypes {
			for _, id := range st.ContextActivities[typ] {
				add(id)
			}
		}
	}
	addStatement(&s)
	if related && s.Sub != nil {
		addStatement(s.Sub)
	}
	return ids
}
