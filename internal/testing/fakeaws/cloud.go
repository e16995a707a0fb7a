package fakeaws

import (
	"fmt"
	"strconv"
	"strings"
)

// AutoScalingGroup is a group running in the fake's account as kops makes
// them: named after its instance group and tagged with the cluster, its
// instances started from some version of the group's launch template.
type AutoScalingGroup struct {
	Cluster, InstanceGroup string
	ControlPlane           bool
	Min, Max, Desired      int
	TemplateVersion        int // the group's current launch template version
	Instances              []Instance
}

// Instance is one instance of a group.
type Instance struct {
	ID              string
	TemplateVersion int // the launch template version it started from
}

// Name is the group's name as kops gives it (awsup matchInstanceGroup).
func (g AutoScalingGroup) Name() string {
	if g.ControlPlane {
		return g.InstanceGroup + ".masters." + g.Cluster
	}
	return g.InstanceGroup + "." + g.Cluster
}

func (g AutoScalingGroup) templateID() string { return "lt-" + imageID(g.Name())[4:] }

// AddAutoScalingGroup puts a running group in the account.
func (s *Server) AddAutoScalingGroup(g AutoScalingGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = append(s.groups, g)
}

func (s *Server) autoScalingGroups() []AutoScalingGroup {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AutoScalingGroup(nil), s.groups...)
}

// members renders an awsquery list: <name><member>..</member>...</name>.
func members(name string, entries ...string) string {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(el("member", e))
	}
	return el(name, b.String())
}

func (g AutoScalingGroup) tags() map[string]string {
	return map[string]string{"KubernetesCluster": g.Cluster, "kops.k8s.io/instancegroup": g.InstanceGroup, "Name": g.Name()}
}

// autoscalingAnswer answers the reads kops makes to find a cluster's groups
// (awsup FindAutoscalingGroups: DescribeTags by value, then the groups).
func (s *Server) autoscalingAnswer(q *apiRequest) (string, bool) {
	switch q.action {
	case "DescribeTags":
		values := map[string]bool{}
		for i := 1; q.params.Get(fmt.Sprintf("Filters.member.%d.Name", i)) != ""; i++ {
			if q.params.Get(fmt.Sprintf("Filters.member.%d.Name", i)) == "value" {
				for _, v := range indexed(q.params, fmt.Sprintf("Filters.member.%d.Values.member", i)) {
					values[v] = true
				}
			}
		}
		var tags []string
		for _, g := range s.autoScalingGroups() {
			for k, v := range g.tags() {
				if len(values) == 0 || values[v] {
					tags = append(tags, asgTag(g, k, v))
				}
			}
		}
		return members("Tags", tags...), true
	case "DescribeAutoScalingGroups":
		names := map[string]bool{}
		for _, n := range indexed(q.params, "AutoScalingGroupNames.member") {
			names[n] = true
		}
		var out []string
		for _, g := range s.autoScalingGroups() {
			if len(names) > 0 && !names[g.Name()] {
				continue
			}
			out = append(out, g.xml(q.region))
		}
		return members("AutoScalingGroups", out...), true
	}
	return "", false
}

func asgTag(g AutoScalingGroup, k, v string) string {
	return el("ResourceId", escape(g.Name())) + el("ResourceType", "auto-scaling-group") + el("Key", escape(k)) + el("Value", escape(v)) + el("PropagateAtLaunch", "true")
}

func (g AutoScalingGroup) template(version int) string {
	return el("LaunchTemplate", el("LaunchTemplateId", g.templateID())+el("LaunchTemplateName", escape(g.Name()))+el("Version", strconv.Itoa(version)))
}

func (g AutoScalingGroup) xml(region string) string {
	var instances, tags []string
	for _, i := range g.Instances {
		instances = append(instances, el("InstanceId", i.ID)+el("InstanceType", "t3.medium")+el("AvailabilityZone", region+"a")+
			el("LifecycleState", "InService")+el("HealthStatus", "Healthy")+g.template(i.TemplateVersion)+el("ProtectedFromScaleIn", "false"))
	}
	for k, v := range g.tags() {
		tags = append(tags, asgTag(g, k, v))
	}
	return el("AutoScalingGroupName", escape(g.Name())) +
		el("AutoScalingGroupARN", "arn:aws:autoscaling:"+region+":"+Account+":autoScalingGroup:fakeaws:autoScalingGroupName/"+escape(g.Name())) +
		g.template(g.TemplateVersion) + el("MinSize", strconv.Itoa(g.Min)) + el("MaxSize", strconv.Itoa(g.Max)) +
		el("DesiredCapacity", strconv.Itoa(g.Desired)) + el("DefaultCooldown", "300") + members("AvailabilityZones", region+"a") +
		el("HealthCheckType", "EC2") + el("CreatedTime", "2026-01-01T00:00:00Z") + members("Instances", instances...) + members("Tags", tags...)
}

// instancesAnswer is DescribeInstances over the groups' instances, filtered
// by tag:KEY and instance-state-name (all are running).
func (s *Server) instancesAnswer(q *apiRequest) string {
	f := filters(q.params)
	var out []string
	for _, g := range s.autoScalingGroups() {
		tags := g.tags()
		for _, i := range g.Instances {
			match := true
			for name, values := range f {
				switch {
				case strings.HasPrefix(name, "tag:"):
					match = match && contains(values, tags[strings.TrimPrefix(name, "tag:")])
				case name == "instance-state-name":
					match = match && contains(values, "running")
				}
			}
			if !match {
				continue
			}
			var tagSet []string
			for k, v := range tags {
				tagSet = append(tagSet, el("key", escape(k))+el("value", escape(v)))
			}
			out = append(out, el("reservationId", "r-"+i.ID)+el("ownerId", Account)+items("instancesSet",
				el("instanceId", i.ID)+el("imageId", "ami-0fakeaws")+el("instanceState", el("code", "16")+el("name", "running"))+
					el("instanceType", "t3.medium")+el("placement", el("availabilityZone", q.region+"a"))+items("tagSet", tagSet...)))
		}
	}
	return items("reservationSet", out...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
