package codecgen

import "hash/fnv"

// This file owns the service declarations' semantics: method ids, the
// checks on services and the compatibility of their changes.

// MethodID is the derived method id of a method declared without "= N":
// the FNV-1a 32-bit hash of its full name "/package.Service/Method" (e.g.
// "/cache.Cache/Get"), the rule protoc-gen-go-protosocket uses for .proto
// services, so the two generators agree on a method's id. Renaming the
// package, service or method changes it; give an explicit id to rename
// freely. A hash of 0 (refused by the checker) asks for an explicit id.
func MethodID(fullName string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(fullName))
	return h.Sum32()
}

// checkServices resolves the services' messages, derives method ids and
// reports duplicate services, methods and ids.
func (c *checker) checkServices(declare func(pos Pos, name, kind string, v any)) {
	msgs := map[string]*Record{}
	for _, m := range c.s.Messages {
		msgs[m.Name] = m
	}
	ids := map[uint32]*Method{}
	idOwner := map[*Method]*Service{}
	for _, sv := range c.s.Services {
		declare(sv.Pos, sv.Name, "service", nil)
		if _, ok := msgs[sv.Name]; ok {
			c.errorf(sv.Pos, "service name %q is also a message name", sv.Name)
		}
		c.global(sv.Pos, "service "+sv.Name, serviceNames(sv)...)
		if len(sv.Methods) == 0 {
			c.errorf(sv.Pos, "service %s declares no methods", sv.Name)
		}
		names := map[string]*Method{}
		for _, m := range sv.Methods {
			if r := []rune(m.Name); len(r) == 0 || r[0] < 'A' || r[0] > 'Z' {
				c.errorf(m.Pos, "method name %q must start with an upper-case letter (it becomes an exported Go method)", m.Name)
			}
			if o, dup := names[m.Name]; dup {
				c.errorf(m.Pos, "duplicate method %s.%s (first at %s)", sv.Name, m.Name, o.Pos)
			}
			names[m.Name] = m
			if !m.IDSet {
				m.ID, m.IDPos = MethodID(m.FullName(c.s, sv)), m.Pos
				if m.ID == 0 {
					c.errorf(m.Pos, "method %s.%s: its derived id is 0, which is not a valid method id: give it an explicit id (= N)", sv.Name, m.Name)
				}
			}
			if o, dup := ids[m.ID]; dup {
				c.errorf(m.IDPos, "method id %d of %s.%s already used by %s.%s (%s)", m.ID, sv.Name, m.Name, idOwner[o].Name, o.Name, o.Pos)
			} else {
				ids[m.ID] = m
				idOwner[m] = sv
			}
			m.Request = c.message(msgs, sv, m, m.ReqName, m.ReqPos, "request")
			if m.Kind != Oneway {
				m.Response = c.message(msgs, sv, m, m.RespName, m.RespPos, "response")
			}
		}
		for _, m := range sv.Methods {
			if o, clash := names["Begin"+m.Name]; clash && m.Kind != ClientStream && m.Kind != Bidi {
				c.errorf(o.Pos, "method %s.%s: the client's Begin%s (the request builder of %s) has the same name: rename one of them", sv.Name, o.Name, m.Name, m.Name)
			}
		}
	}
}

// message resolves a method's request or response message by name.
func (c *checker) message(msgs map[string]*Record, sv *Service, m *Method, name string, pos Pos, what string) *Record {
	if r, ok := msgs[name]; ok {
		return r
	}
	if _, ok := c.types[name]; ok {
		c.errorf(pos, "method %s.%s: %s type %s is not a message (only messages travel as requests and responses)", sv.Name, m.Name, what, name)
		return nil
	}
	c.errorf(pos, "method %s.%s: unknown %s message %q%s", sv.Name, m.Name, what, name, c.suggest(name))
	return nil
}

// serviceNames lists the identifiers generated for service sv.
func serviceNames(sv *Service) []string {
	n := sv.Name
	l := lowerFirst(n)
	out := []string{n + "Server", "Register" + n, n + "MethodMode", n + "Client", "New" + n + "Client", "New" + n + "PoolClient",
		l + "Invalid", l + "WrongType", l + "BadResponse", l + "BuildFailed", l + "Begin", l + "End", l + "Builders"}
	pools := map[string]bool{}
	for _, m := range sv.Methods {
		out = append(out, n+m.Name+"Method")
		if p := l + m.RespName + "Builders"; (m.Kind == Unary || m.Kind == ClientStream) && !pools[p] {
			pools[p] = true // the pool of a staged response's builders (service_gen.go)
			out = append(out, p)
		}
		if m.Kind == ServerStream || m.Kind == ClientStream || m.Kind == Bidi {
			out = append(out, n+m.Name+"ServerStream", n+m.Name+"ClientStream")
		}
	}
	return out
}

// services compares the old and new services: a removed method, a changed
// id, an id reused by another method, a changed request or response type
// and a changed kind each break callers or servers of the old schema.
func (c *compat) services(old, cur *Schema) {
	svs := map[string]*Service{}
	byID := map[uint32]struct {
		sv *Service
		m  *Method
	}{}
	for _, sv := range cur.Services {
		svs[sv.Name] = sv
		for _, m := range sv.Methods {
			byID[m.ID] = struct {
				sv *Service
				m  *Method
			}{sv, m}
		}
	}
	for _, osv := range old.Services {
		nsv := svs[osv.Name]
		methods := map[string]*Method{}
		if nsv != nil {
			for _, m := range nsv.Methods {
				methods[m.Name] = m
			}
		}
		for _, om := range osv.Methods {
			nm, ok := methods[om.Name]
			if !ok {
				pos := om.Pos
				if nsv == nil {
					c.add(pos, om.Pos, "method %s.%s removed (with service %s)", osv.Name, om.Name, osv.Name)
				} else {
					c.add(pos, om.Pos, "method %s.%s removed", osv.Name, om.Name)
				}
				if o, reused := byID[om.ID]; reused {
					c.add(o.m.IDPos, om.Pos, "method id %d of removed method %s.%s reused by %s.%s", om.ID, osv.Name, om.Name, o.sv.Name, o.m.Name)
				}
				continue
			}
			if nm.ID != om.ID {
				c.add(nm.IDPos, om.IDPos, "method %s.%s: id changed from %d to %d", osv.Name, om.Name, om.ID, nm.ID)
				if o, reused := byID[om.ID]; reused && o.m != nm {
					c.add(o.m.IDPos, om.Pos, "method id %d of %s.%s reused by %s.%s", om.ID, osv.Name, om.Name, o.sv.Name, o.m.Name)
				}
			}
			if nm.Kind != om.Kind {
				c.add(nm.Pos, om.Pos, "method %s.%s: kind changed from %s to %s", osv.Name, om.Name, om.Kind, nm.Kind)
			}
			if nm.ReqName != om.ReqName {
				c.add(nm.ReqPos, om.ReqPos, "method %s.%s: request type changed from %s to %s", osv.Name, om.Name, om.ReqName, nm.ReqName)
			}
			if nm.RespName != om.RespName && nm.Kind != Oneway && om.Kind != Oneway {
				c.add(nm.RespPos, om.RespPos, "method %s.%s: response type changed from %s to %s", osv.Name, om.Name, om.RespName, nm.RespName)
			}
		}
	}
}
