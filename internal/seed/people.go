package seed

import (
	"strconv"
	"strings"
)

// member is a row of team_members plus the dates that shape who owns and
// works which leads.
type member struct {
	id, name, email string
	idv             any // id, boxed once for activity rows
	team            string
	active          bool
	joined, left    int64 // unix seconds; 0 when unbounded
	weight          float64
}

// spanishNames are the first names and surnames team members are drawn from.
func spanishNames() (first, last []string) {
	first = []string{
		"Carlos", "Elena", "Lucía", "Javier", "Sofía", "Ana", "Pablo", "Marta",
		"Diego", "Laura", "Alejandro", "Carmen", "Daniel", "Paula", "Sergio",
		"Isabel", "Miguel", "Cristina", "Raúl", "Beatriz", "Andrés", "Nuria",
		"Jorge", "Irene", "Álvaro", "Rocío", "Fernando", "Alba", "Manuel", "Noelia",
		"Adrián", "Silvia", "Rubén", "Claudia", "Óscar", "Inés", "Hugo", "Marina",
		"Iván", "Teresa",
	}
	last = []string{
		"Pérez", "García", "Ortiz", "Romero", "López", "Muñoz", "Navarro",
		"Martínez", "Sánchez", "Fernández", "González", "Rodríguez", "Gómez",
		"Díaz", "Moreno", "Álvarez", "Jiménez", "Ruiz", "Hernández", "Torres",
		"Domínguez", "Vázquez", "Ramos", "Gil", "Ramírez", "Serrano", "Blanco",
		"Molina", "Morales", "Suárez", "Castro", "Ortega", "Delgado", "Rubio",
		"Marín", "Sanz", "Iglesias", "Núñez", "Medina", "Garrido",
	}
	return first, last
}

// namer hands out distinct Spanish names until the combinations run out, then
// repeats them.
type namer struct {
	r           *rng
	first, last []string
	used        map[int]bool
	// fold maps the accented letters of the name lists to ASCII for
	// addresses.
	fold *strings.Replacer
}

func (n *namer) next() (name, local string) {
	total := len(n.first) * len(n.last)
	k := n.r.intn(total)
	for i := 0; n.used[k] && i < total; i++ {
		k = (k + 1) % total
	}
	n.used[k] = true
	f, l := n.first[k/len(n.last)], n.last[k%len(n.last)]
	local = strings.ToLower(n.fold.Replace(f + "." + l))
	return f + " " + l, local
}

func padID(prefix string, n, width int) string {
	s := strconv.Itoa(n)
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return prefix + s
}

// team builds the sales reps (active ones first, then a few who left), the
// marketers and one partner manager whose team is neither sales nor
// marketing.
func (g *generator) team(r *rng) {
	first, last := spanishNames()
	nm := namer{r: r, first: first, last: last, used: map[int]bool{}, fold: strings.NewReplacer(
		"á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "Á", "a", "É", "e",
		"Í", "i", "Ó", "o", "Ú", "u", "ñ", "n", "Ñ", "n", "ü", "u")}
	span := g.end - g.start
	inactive := max(2, g.opts.Reps/10)
	width := max(3, len(strconv.Itoa(g.opts.Reps+inactive)))
	seen := map[string]int{}
	email := func(local, id string) string {
		seen[local]++
		if seen[local] > 1 {
			local += "." + id
		}
		return local + "@example.com"
	}
	for i := range g.opts.Reps + inactive {
		m := member{id: padID("u", i+1, width), team: "sales", active: i < g.opts.Reps, weight: 0.6 + 0.8*r.float()}
		var local string
		m.name, local = nm.next()
		m.email = email(local, m.id)
		switch {
		case !m.active:
			// Left somewhere in the first two thirds; their old leads stay
			// assigned to them, as they do in a real CRM.
			m.left = g.start + int64((0.15+0.5*r.float())*float64(span))
			m.weight *= 0.6
			if r.chance(0.5) {
				m.email = ""
			}
		case i == g.opts.Reps-1 && g.opts.Reps >= 5:
			// A rep who joined days ago and has almost nothing yet.
			m.joined = g.end - min(14*day, span/4)
		}
		g.reps = append(g.reps, m)
	}
	nMkt := min(max(g.opts.Reps/3, 3), 40)
	for i := range nMkt {
		m := member{id: padID("m", i+1, 3), team: "marketing", active: true}
		var local string
		m.name, local = nm.next()
		m.email = email(local, m.id)
		g.marketers = append(g.marketers, m)
	}
	g.partner = member{id: "x001", name: "Partner Manager", email: "partners@example.com", team: "partners", active: true}

	for i := range g.reps {
		g.reps[i].idv = g.reps[i].id
	}
	for i := range g.marketers {
		g.marketers[i].idv = g.marketers[i].id
	}
	g.partner.idv = g.partner.id

	g.repCum = make([]float64, len(g.reps))
	sum := 0.0
	for i, m := range g.reps {
		sum += m.weight
		g.repCum[i] = sum
	}
}

// ownerAt picks the rep who owns a lead created at t: weighted, among the reps
// employed at t.
func (g *generator) ownerAt(r *rng, t int64) int {
	for range 8 {
		i := r.pick(g.repCum)
		m := &g.reps[i]
		if (m.joined == 0 || m.joined <= t) && (m.left == 0 || t < m.left) {
			return i
		}
	}
	return r.intn(min(g.opts.Reps, max(1, g.opts.Reps-1)))
}

// activeRep is a rep still employed at t, for work nobody owned.
func (g *generator) activeRep(r *rng, t int64) int {
	for range 8 {
		i := r.intn(g.opts.Reps)
		if m := &g.reps[i]; m.joined == 0 || m.joined <= t {
			return i
		}
	}
	return 0
}
