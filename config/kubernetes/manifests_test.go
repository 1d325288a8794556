// Package kubernetes_test checks the Kubernetes manifests: each parses,
// with unknown fields refused, into the k8s.io/api type it claims, and holds
// the settings sameteam's guarantees depend on (exit-code handling, no
// overlapping runs, the restricted security profile, probe paths, and the
// configuration they mount).
package kubernetes_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/sameteam/sameteam/internal/config"
	"github.com/sameteam/sameteam/internal/schedule"
)

// Exit codes of `sameteam run` (sysexits, see the README's "Exit codes").
const (
	exitUsage    = 64
	exitDataErr  = 65
	exitTempFail = 75
	exitConfig   = 78
)

// distrolessNonroot is the nonroot user of gcr.io/distroless/static.
const distrolessNonroot = 65532

// load parses a manifest into out, refusing unknown fields, and checks its
// apiVersion and kind.
func load(t *testing.T, file string, out any, apiVersion, kind string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, out); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	_ = yaml.Unmarshal(b, &meta)
	if meta.APIVersion != apiVersion || meta.Kind != kind {
		t.Fatalf("%s is %s %s, want %s %s", file, meta.APIVersion, meta.Kind, apiVersion, kind)
	}
}

type manifests struct {
	cron   batchv1.CronJob
	deploy appsv1.Deployment
	svc    corev1.Service
	cm     corev1.ConfigMap
	secret corev1.Secret
	pdb    policyv1.PodDisruptionBudget
	netpol networkingv1.NetworkPolicy
}

func loadAll(t *testing.T) *manifests {
	t.Helper()
	m := &manifests{}
	load(t, "cronjob.yaml", &m.cron, "batch/v1", "CronJob")
	load(t, "deployment.yaml", &m.deploy, "apps/v1", "Deployment")
	load(t, "service.yaml", &m.svc, "v1", "Service")
	load(t, "configmap.yaml", &m.cm, "v1", "ConfigMap")
	load(t, "secret.yaml", &m.secret, "v1", "Secret")
	load(t, "poddisruptionbudget.yaml", &m.pdb, "policy/v1", "PodDisruptionBudget")
	load(t, "networkpolicy.yaml", &m.netpol, "networking.k8s.io/v1", "NetworkPolicy")
	return m
}

// TestEveryManifestIsChecked keeps a new manifest from going untested.
func TestEveryManifestIsChecked(t *testing.T) {
	files, err := filepath.Glob("*.y*ml")
	if err != nil {
		t.Fatal(err)
	}
	checked := []string{"configmap.yaml", "cronjob.yaml", "deployment.yaml", "networkpolicy.yaml", "poddisruptionbudget.yaml", "secret.yaml", "service.yaml"}
	slices.Sort(files)
	if !slices.Equal(files, checked) {
		t.Fatalf("manifests %v, tests cover %v", files, checked)
	}
}

func TestStrictParsingRefusesUnknownFields(t *testing.T) {
	var cj batchv1.CronJob
	err := yaml.UnmarshalStrict([]byte("apiVersion: batch/v1\nkind: CronJob\nspec:\n  concurrencyPolicy: Forbid\n  startingDeadline: 60\n"), &cj)
	if err == nil {
		t.Fatal("a misspelt field (startingDeadline) was accepted")
	}
}

func TestCronJob(t *testing.T) {
	m := loadAll(t)
	s := m.cron.Spec
	if s.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy = %q, want Forbid", s.ConcurrencyPolicy)
	}
	if s.StartingDeadlineSeconds == nil || *s.StartingDeadlineSeconds <= 0 {
		t.Error("startingDeadlineSeconds is not set: the controller stops after 100 missed schedules")
	}
	if s.TimeZone == nil {
		t.Fatal("timeZone is not set: the schedule would follow the controller's zone")
	}
	loc, err := time.LoadLocation(*s.TimeZone)
	if err != nil {
		t.Fatalf("timeZone: %v", err)
	}
	if err := schedule.Validate(s.Schedule, loc); err != nil {
		t.Errorf("schedule: %v", err)
	}
	if w := schedule.DSTWarnings(s.Schedule, loc, time.Now()); len(w) > 0 {
		t.Errorf("schedule falls in a DST change: %v", w)
	}

	job := s.JobTemplate.Spec
	if job.BackoffLimit == nil || *job.BackoffLimit < 1 {
		t.Error("backoffLimit must allow retries for exit 75")
	}
	if job.ActiveDeadlineSeconds == nil {
		t.Error("activeDeadlineSeconds is not set")
	}
	pod := job.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy = %q: podFailurePolicy needs Never", pod.RestartPolicy)
	}
	c := container(t, pod, "sameteam")
	if len(c.Args) < 2 || c.Args[0] != "run" || c.Args[1] != "--all" {
		t.Errorf("args = %q, want run --all …", c.Args)
	}

	// The exit-code policy: which rule decides each code. Rules are matched
	// in order and the first match wins.
	if job.PodFailurePolicy == nil {
		t.Fatal("no podFailurePolicy")
	}
	action := func(code int32) batchv1.PodFailurePolicyAction {
		for _, r := range job.PodFailurePolicy.Rules {
			e := r.OnExitCodes
			if e == nil || (e.ContainerName != nil && *e.ContainerName != c.Name) {
				continue
			}
			in := slices.Contains(e.Values, code)
			if (e.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn) == in {
				return r.Action
			}
		}
		return batchv1.PodFailurePolicyActionCount // the default: a counted retry
	}
	for _, tt := range []struct {
		name string
		code int32
		want batchv1.PodFailurePolicyAction
	}{
		{"usage error fails the job", exitUsage, batchv1.PodFailurePolicyActionFailJob},
		{"permanent recipient failure fails the job", exitDataErr, batchv1.PodFailurePolicyActionFailJob},
		{"configuration error fails the job", exitConfig, batchv1.PodFailurePolicyActionFailJob},
		// Ignore would retry a dead database without bound (until
		// activeDeadlineSeconds) and never fail the Job; Count retries up to
		// backoffLimit and then fails it, which alerts.
		{"temporary failure is retried and counted", exitTempFail, batchv1.PodFailurePolicyActionCount},
		{"anything else is retried and counted", 1, batchv1.PodFailurePolicyActionCount},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := action(tt.code); got != tt.want {
				t.Fatalf("exit %d → %s, want %s", tt.code, got, tt.want)
			}
		})
	}
	disruption := false
	for _, r := range job.PodFailurePolicy.Rules {
		for _, pc := range r.OnPodConditions {
			if pc.Type == corev1.DisruptionTarget && r.Action == batchv1.PodFailurePolicyActionIgnore {
				disruption = true
			}
		}
	}
	if !disruption {
		t.Error("a node drain (DisruptionTarget) would spend a retry: add an Ignore rule")
	}

	checkPodSecurity(t, pod, c)
	checkImageAndResources(t, c)
	checkSecretsAndConfig(t, m, pod, c, []string{"SAMETEAM_DATABASE_URL", "SAMETEAM_SMTP_PASSWORD", "SAMETEAM_LINK_KEY"})
}

func TestDeployment(t *testing.T) {
	m := loadAll(t)
	pod := m.deploy.Spec.Template.Spec
	c := container(t, pod, "sameteam")
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Errorf("args = %q, want serve …", c.Args)
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe: none", name)
			return
		}
		if p.HTTPGet.Path != path {
			t.Errorf("%s probe path = %q, want %q", name, p.HTTPGet.Path, path)
		}
		if !hasPort(c, p.HTTPGet.Port.String()) {
			t.Errorf("%s probe port %s is not a container port", name, p.HTTPGet.Port.String())
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")
	if !reflectEqual(m.deploy.Spec.Selector.MatchLabels, m.deploy.Spec.Template.Labels) {
		t.Errorf("selector %v does not match the pod labels %v", m.deploy.Spec.Selector.MatchLabels, m.deploy.Spec.Template.Labels)
	}
	// The scheduler's stop timeout, then HTTP and the database, must fit in
	// the grace period or the kubelet kills a run mid-send.
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < schedule.DefaultStopTimeout+10*time.Second {
		t.Errorf("terminationGracePeriodSeconds too short for a %v scheduler stop", schedule.DefaultStopTimeout)
	}
	checkPodSecurity(t, pod, c)
	checkImageAndResources(t, c)
	checkSecretsAndConfig(t, m, pod, c, []string{"SAMETEAM_DATABASE_URL", "SAMETEAM_SMTP_PASSWORD", "SAMETEAM_HTTP_TOKEN", "SAMETEAM_LINK_KEY"})

	// Two replicas on different nodes where possible.
	if r := m.deploy.Spec.Replicas; r == nil || *r < 2 {
		t.Errorf("replicas = %v, want 2", r)
	}
	anti := pod.Affinity
	spread := false
	if anti != nil && anti.PodAntiAffinity != nil {
		for _, w := range anti.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			term := w.PodAffinityTerm
			sel, err := metav1LabelSelector(term.LabelSelector)
			if err == nil && term.TopologyKey == "kubernetes.io/hostname" && sel.Matches(labels.Set(m.deploy.Spec.Template.Labels)) {
				spread = true
			}
		}
	}
	if !spread {
		t.Error("no pod anti-affinity on kubernetes.io/hostname for the serve pods")
	}
}

// The PodDisruptionBudget covers the serve pods and lets a drain take one
// of the two, never both.
func TestPodDisruptionBudget(t *testing.T) {
	m := loadAll(t)
	sel, err := metav1LabelSelector(m.pdb.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set(m.deploy.Spec.Template.Labels)) {
		t.Errorf("the PodDisruptionBudget does not select the serve pods")
	}
	if sel.Matches(labels.Set(m.cron.Spec.JobTemplate.Spec.Template.Labels)) {
		t.Errorf("the PodDisruptionBudget selects the CronJob's pods")
	}
	minAvail := m.pdb.Spec.MinAvailable
	if minAvail == nil || minAvail.IntValue() < 1 || int32(minAvail.IntValue()) >= *m.deploy.Spec.Replicas {
		t.Errorf("minAvailable = %v: want at least 1 and fewer than the %d replicas (or no drain could proceed)", minAvail, *m.deploy.Spec.Replicas)
	}
}

// The example NetworkPolicy covers both workloads, and their egress goes to
// the database, the SMTP relay and DNS only.
func TestNetworkPolicy(t *testing.T) {
	m := loadAll(t)
	sel, err := metav1LabelSelector(&m.netpol.Spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]map[string]string{"serve": m.deploy.Spec.Template.Labels, "cronjob": m.cron.Spec.JobTemplate.Spec.Template.Labels} {
		if !sel.Matches(labels.Set(l)) {
			t.Errorf("the NetworkPolicy does not select the %s pods", name)
		}
	}
	if !slices.Contains(m.netpol.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) || !slices.Contains(m.netpol.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
		t.Errorf("policyTypes = %v, want Ingress and Egress", m.netpol.Spec.PolicyTypes)
	}
	allowed := map[int]string{5432: "PostgreSQL", 587: "SMTP submission", 465: "SMTP over TLS", 53: "DNS"}
	seen := map[int]bool{}
	for i, r := range m.netpol.Spec.Egress {
		if len(r.To) == 0 || len(r.Ports) == 0 {
			t.Errorf("egress[%d] allows every destination or every port", i)
		}
		for _, p := range r.Ports {
			if p.Port == nil {
				t.Errorf("egress[%d]: a rule without a port", i)
				continue
			}
			if _, ok := allowed[p.Port.IntValue()]; !ok {
				t.Errorf("egress[%d]: port %s is none of the database, SMTP or DNS", i, p.Port.String())
			}
			seen[p.Port.IntValue()] = true
		}
	}
	for _, port := range []int{5432, 587, 53} {
		if !seen[port] {
			t.Errorf("no egress to %s (port %d)", allowed[port], port)
		}
	}
	c := container(t, m.deploy.Spec.Template.Spec, "sameteam")
	for _, r := range m.netpol.Spec.Ingress {
		for _, p := range r.Ports {
			if p.Port == nil || !hasPort(c, p.Port.String()) {
				t.Errorf("ingress port %v is not serve's HTTP port", p.Port)
			}
		}
	}
}

func metav1LabelSelector(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return nil, errors.New("no label selector")
	}
	return metav1.LabelSelectorAsSelector(s)
}

// checkImageAndResources: a pinned image, the tag the README builds, and
// requests and limits for CPU, memory and ephemeral storage (kube-score's
// checks, run by .ci/run).
func checkImageAndResources(t *testing.T, c corev1.Container) {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	built := regexp.MustCompile(`docker build[^\n]* -t (\S+)`).FindSubmatch(readme)
	if built == nil {
		t.Fatal("the README builds no image (docker build -t …)")
	}
	if c.Image != string(built[1]) {
		t.Errorf("image %q, but the README builds %q", c.Image, built[1])
	}
	if _, tag, ok := strings.Cut(c.Image[strings.LastIndex(c.Image, "/")+1:], ":"); !ok || tag == "latest" {
		t.Errorf("image %q: pin a tag", c.Image)
	}
	if c.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("imagePullPolicy = %q, want Always", c.ImagePullPolicy)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
		if req.IsZero() || lim.IsZero() {
			t.Errorf("resources: %s request %v, limit %v: want both", r, req.String(), lim.String())
		} else if req.Cmp(lim) > 0 {
			t.Errorf("resources: %s request %s above its limit %s", r, req.String(), lim.String())
		}
	}
	// /tmp is an emptyDir, which counts against the ephemeral-storage limit.
	if lim := c.Resources.Limits[corev1.ResourceEphemeralStorage]; lim.Cmp(resource.MustParse("512Mi")) < 0 {
		t.Errorf("ephemeral-storage limit %s is below the /tmp emptyDir's 512Mi", lim.String())
	}
}

func TestService(t *testing.T) {
	m := loadAll(t)
	for k, v := range m.svc.Spec.Selector {
		if m.deploy.Spec.Template.Labels[k] != v {
			t.Errorf("service selects %s=%s, which the serve pods do not carry", k, v)
		}
	}
	c := container(t, m.deploy.Spec.Template.Spec, "sameteam")
	for _, p := range m.svc.Spec.Ports {
		if !hasPort(c, p.TargetPort.String()) {
			t.Errorf("service port %s targets %s, not a container port", p.Name, p.TargetPort.String())
		}
	}
}

func TestSecretHoldsPlaceholdersOnly(t *testing.T) {
	m := loadAll(t)
	if len(m.secret.StringData) == 0 {
		t.Fatal("the example Secret is empty")
	}
	for k, v := range m.secret.StringData {
		if !strings.Contains(v, "CHANGE-ME") {
			t.Errorf("%s looks like a real secret; the example holds placeholders only", k)
		}
	}
	if len(m.secret.Data) > 0 {
		t.Error("the example Secret has base64 data; use stringData placeholders")
	}
}

// TestConfigMapIsAValidConfig loads the mounted configuration with the
// real loader, with the environment each workload gets from the Secret.
func TestConfigMapIsAValidConfig(t *testing.T) {
	m := loadAll(t)
	raw, ok := m.cm.Data["sameteam.yaml"]
	if !ok {
		t.Fatal("the ConfigMap has no sameteam.yaml")
	}
	for _, w := range []struct {
		name string
		pod  corev1.PodSpec
	}{
		{"cronjob", m.cron.Spec.JobTemplate.Spec.Template.Spec},
		{"deployment", m.deploy.Spec.Template.Spec},
	} {
		t.Run(w.name, func(t *testing.T) {
			env := map[string]string{}
			for _, e := range container(t, w.pod, "sameteam").Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					env[e.Name] = m.secret.StringData[e.ValueFrom.SecretKeyRef.Key]
				}
			}
			lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
			// As applied, the placeholders are refused (exit 78 in every
			// command), naming each variable.
			_, err := config.Parse("configmap.yaml", []byte(raw), lookup)
			if !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("the example Secret's placeholders load: %v", err)
			}
			for name := range env {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("the placeholder of %s is not refused: %v", name, err)
				}
			}
			// With generated values, as the README creates the Secret.
			placeholder := regexp.MustCompile(config.Placeholder + `[-A-Za-z0-9]*`)
			for name, v := range env {
				env[name] = placeholder.ReplaceAllStringFunc(v, func(string) string { return randomHex(t) })
			}
			cfg, err := config.Parse("configmap.yaml", []byte(raw), lookup)
			if err != nil {
				t.Fatalf("the mounted configuration does not load: %v", err)
			}
			loc, err := time.LoadLocation(cfg.TimeZone)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range cfg.Reports {
				if err := schedule.Validate(r.Schedule, loc); err != nil {
					t.Errorf("report %s: %v", r.Name, err)
				}
			}
		})
	}
	for _, secret := range m.secret.StringData {
		if strings.Contains(raw, secret) {
			t.Error("the ConfigMap contains a value of the Secret")
		}
	}
}

// TestDockerfile checks the image the manifests run.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	d := string(b)
	for _, want := range []string{
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"go mod download",
		"CGO_ENABLED=0",
		"-trimpath",
		`-ldflags "-s -w`,
		"timetzdata",
		"USER 65532:65532",
		`ENTRYPOINT ["/sameteam"]`,
		`CMD ["serve"]`,
	} {
		if !strings.Contains(d, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	if strings.Index(d, "go mod download") > strings.Index(d, "COPY . .") {
		t.Error("go mod download must come before copying the source, to cache the module download")
	}
	// The binary and the image name their commit; the context has no .git,
	// so it comes in as build arguments.
	for _, want := range []string{
		"-X main.commit=${COMMIT}",
		"-X main.buildDate=${COMMIT_DATE}",
		"--mount=type=cache,target=/root/.cache/go-build",
		"--mount=type=cache,target=/go/pkg/mod",
		`org.opencontainers.image.revision="${COMMIT}"`,
		`org.opencontainers.image.version="${VERSION}"`,
		`org.opencontainers.image.created="${COMMIT_DATE}"`,
		"org.opencontainers.image.source=",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	ignore, err := os.ReadFile(filepath.Join("..", "..", ".dockerignore"))
	if err != nil {
		t.Fatalf("no .dockerignore: COPY . . would send .git, the demo's database and outboxes: %v", err)
	}
	lines := strings.Fields(string(ignore))
	for _, want := range []string{".git", "**/sameteam-demo", "**/outbox"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
}

// randomHex is what `openssl rand -hex 32` gives.
func randomHex(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func container(t *testing.T, pod corev1.PodSpec, name string) corev1.Container {
	t.Helper()
	for _, c := range pod.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return corev1.Container{}
}

func hasPort(c corev1.Container, port string) bool {
	for _, p := range c.Ports {
		if p.Name == port || strconv.Itoa(int(p.ContainerPort)) == port {
			return true
		}
	}
	return false
}

func reflectEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkPodSecurity asserts the Pod Security "restricted" profile and the
// writable /tmp under a read-only root.
func checkPodSecurity(t *testing.T, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	ps := pod.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot {
		t.Error("pod: runAsNonRoot is not true")
	}
	if ps == nil || ps.RunAsUser == nil || *ps.RunAsUser != distrolessNonroot {
		t.Errorf("pod: runAsUser is not the image's nonroot user %d", distrolessNonroot)
	}
	if ps == nil || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod: seccomp is not RuntimeDefault")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("pod: the service account token is mounted; sameteam does not talk to the API server")
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("container: no securityContext")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("container: readOnlyRootFilesystem is not true")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("container: allowPrivilegeEscalation is not false")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Error("container: capabilities are not drop ALL")
	case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Error("container: seccomp is not RuntimeDefault")
	}
	tmp := ""
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == "/tmp" {
			tmp = vm.Name
		}
	}
	ok := false
	for _, v := range pod.Volumes {
		if v.Name == tmp && v.EmptyDir != nil {
			ok = true
		}
	}
	if !ok {
		t.Error("no emptyDir at /tmp: workbook temp files have nowhere to go under a read-only root")
	}
}

// checkSecretsAndConfig asserts that the container takes exactly the named
// secrets from the Secret by env (no literal values), and mounts the
// ConfigMap where its --config points.
func checkSecretsAndConfig(t *testing.T, m *manifests, pod corev1.PodSpec, c corev1.Container, want []string) {
	t.Helper()
	var got []string
	for _, e := range c.Env {
		if e.Value != "" {
			t.Errorf("env %s has a literal value", e.Name)
		}
		ref := e.ValueFrom
		if ref == nil || ref.SecretKeyRef == nil {
			continue
		}
		if ref.SecretKeyRef.Name != m.secret.Name {
			t.Errorf("env %s comes from Secret %q, not %q", e.Name, ref.SecretKeyRef.Name, m.secret.Name)
		}
		if _, ok := m.secret.StringData[ref.SecretKeyRef.Key]; !ok {
			t.Errorf("env %s: the Secret has no key %s", e.Name, ref.SecretKeyRef.Key)
		}
		got = append(got, e.Name)
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("secrets in env = %v, want %v", got, want)
	}

	cfgPath := ""
	for i, a := range c.Args {
		if a == "--config" && i+1 < len(c.Args) {
			cfgPath = c.Args[i+1]
		}
	}
	if cfgPath == "" {
		t.Fatal("no --config argument")
	}
	mounted := false
	for _, vm := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == vm.Name && v.ConfigMap != nil && v.ConfigMap.Name == m.cm.Name &&
				filepath.Join(vm.MountPath, "sameteam.yaml") == cfgPath {
				mounted = true
			}
		}
	}
	if !mounted {
		t.Errorf("--config %s is not the ConfigMap's sameteam.yaml", cfgPath)
	}
}
